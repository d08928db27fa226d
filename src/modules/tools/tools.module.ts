import type { Config, BuiltInToolName } from '../../config/config';
import { instancesOf, type AppModule } from '../../graphql/app-module';
import type { Logger } from '../../log/logger';
import type { PalaverPubSub } from '../../pubsub/pubsub';
import type { ChatModel } from '../chat/chat.model';
import type { MessageModel } from '../chat/message.model';
import { Approvals } from './approvals';
import { calculator } from './built-in/calculator';
import { currentTime } from './built-in/current-time';
import { fetchUrl } from './built-in/fetch-url';
import { searchMyChats } from './built-in/search-my-chats';
import type { Tool } from './tool';
import { McpServer } from './mcp/mcp-server';
import { ToolRegistry } from './tool-registry';
import { ToolRunner } from './tool-runner';
import { ToolsResolver } from './tools.resolver';

/** The tools feature's part of the schema; the module gives an instance of each. */
export const TOOLS_RESOLVERS = [ToolsResolver] as const;

export interface ToolsModuleDependencies {
  config: Config;
  logger: Logger;
  pubSub: PalaverPubSub;
  /** search_my_chats reads the caller's own messages and chat titles. */
  models: { Chat: ChatModel; Message: MessageModel };
}

export interface ToolsModule extends AppModule {
  registry: ToolRegistry;
  /** Builds each reply's tools from its chat's choice. */
  runner: ToolRunner;
  /** approveToolCall's answers, to the reply that waits, on any instance. */
  approvals: Approvals;
}

/**
 * Tools a reply may call: built-ins switched on by TOOLS, and the tools of the MCP servers of
 * MCP_SERVERS, connected one after another at start (so names are given in a stable order); a
 * server that fails is logged and left out.
 */
export async function createToolsModule(deps: ToolsModuleDependencies): Promise<ToolsModule> {
  const { config, logger, pubSub, models } = deps;
  const approval = (name: BuiltInToolName) => config.tools.requireApproval.includes(name);
  const builtIns: Record<string, () => Tool> = {
    current_time: () => currentTime(approval('current_time')),
    calculator: () => calculator(approval('calculator')),
    search_my_chats: () => searchMyChats(models, approval('search_my_chats')),
    fetch_url: () => fetchUrl(approval('fetch_url'), config.tools.fetchAllowHosts),
  };
  const registry = new ToolRegistry(
    config.tools.builtIn.flatMap((name) => (builtIns[name] ? [builtIns[name]()] : [])),
  );
  const servers = config.tools.mcpServers.map((server) => new McpServer(server, logger));
  for (const server of servers) {
    try {
      registry.add(await server.start((name) => registry.get(name) !== undefined));
    } catch (error) {
      logger.warn({ err: error, server: server.name }, 'an MCP server could not be reached');
      await server.close();
    }
  }
  const approvals = new Approvals(pubSub, config.tools.approvalTimeoutMs);
  return {
    registry,
    approvals,
    runner: new ToolRunner(registry, approvals, config.tools.maxSteps, logger),
    resolvers: instancesOf(TOOLS_RESOLVERS, [new ToolsResolver(registry)]),
    stop: async () => {
      await Promise.all(servers.map((server) => server.close()));
    },
  };
}
