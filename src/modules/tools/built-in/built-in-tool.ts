import { z } from 'zod';
import { ToolSource, type Tool, type ToolContext, type ToolOutcome } from '../tool';

/**
 * A built-in tool from a zod schema: the schema checks the model's arguments and is sent to
 * providers as JSON Schema (draft 7, without `$schema`, which some providers refuse).
 */
export function builtInTool<Schema extends z.ZodObject>(spec: {
  name: string;
  description: string;
  schema: Schema;
  requiresApproval: boolean;
  run(args: z.infer<Schema>, context: ToolContext): Promise<ToolOutcome>;
}): Tool {
  const { $schema: _dialect, ...parameters } = z.toJSONSchema(spec.schema, {
    target: 'draft-7',
  }) as Record<string, unknown>;
  return {
    name: spec.name,
    description: spec.description,
    parameters,
    source: ToolSource.BUILT_IN,
    requiresApproval: spec.requiresApproval,
    check: (args) => {
      const parsed = spec.schema.safeParse(args);
      return parsed.success
        ? null
        : parsed.error.issues
            .map((issue) => `${issue.path.join('.') || 'arguments'}: ${issue.message}`)
            .join('; ');
    },
    run: (args, context) => spec.run(spec.schema.parse(args), context),
  };
}
