import { Field, ObjectType, registerEnumType } from 'type-graphql';
import { ToolSource } from './tool';

registerEnumType(ToolSource, {
  name: 'ToolSource',
  description: 'Where a tool comes from.',
  valuesConfig: {
    BUILT_IN: { description: 'Built into the server (switched on by TOOLS).' },
    MCP: { description: 'An MCP server the server is configured with (MCP_SERVERS).' },
  },
});

@ObjectType({ simpleResolvers: true, description: 'A tool a chat may let the model call.' })
export class ToolInfo {
  @Field(() => String, { description: 'Its name, as a chat or a send chooses it.' })
  name!: string;

  @Field(() => String, { description: 'What it does (the model reads this too).' })
  description!: string;

  @Field(() => ToolSource, { description: 'Where it comes from.' })
  source!: ToolSource;

  @Field(() => String, { nullable: true, description: 'Its MCP server (MCP tools).' })
  server!: string | null;

  @Field(() => Boolean, { description: 'Whether each call waits for approveToolCall.' })
  requiresApproval!: boolean;
}
