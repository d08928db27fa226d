import { Authorized, Query, Resolver } from 'type-graphql';
import { ToolInfo } from './tool-info.type';
import type { ToolRegistry } from './tool-registry';

@Resolver()
export class ToolsResolver {
  constructor(private readonly registry: ToolRegistry) {}

  @Authorized()
  @Query(() => [ToolInfo], {
    description:
      'The tools this server offers; a chat uses those it chose (updateChat, or a send’s tools).',
  })
  tools(): ToolInfo[] {
    return this.registry.list().map((tool) => ({
      name: tool.name,
      description: tool.description,
      source: tool.source,
      server: tool.server ?? null,
      requiresApproval: tool.requiresApproval,
    }));
  }
}
