import type { ToolDefinition } from '../../llm/model-client';

/** Where a tool comes from. */
export enum ToolSource {
  BUILT_IN = 'BUILT_IN',
  MCP = 'MCP',
}

/** What a running tool may know of its call. */
export interface ToolContext {
  /** The user whose reply called it: a tool reads only what is theirs. */
  userId: string;
  /** Aborted when the reply stops (stopGeneration, deletion, shutdown). */
  signal: AbortSignal;
}

/** A tool's answer to the model, or why it failed (sent to the model either way). */
export interface ToolOutcome {
  result: string;
  isError: boolean;
}

/** A tool a reply may call: built in, or one of an MCP server's. */
export interface Tool extends ToolDefinition {
  source: ToolSource;
  /** The MCP server it belongs to. */
  server?: string;
  /** Each call waits for the user's approveToolCall first. */
  requiresApproval: boolean;
  /** Runs with arguments already checked against `parameters`. */
  run(args: Record<string, unknown>, context: ToolContext): Promise<ToolOutcome>;
  /** Checks the model's arguments; the reason they do not fit, or null. */
  check(args: Record<string, unknown>): string | null;
}

/** What every provider accepts as a function name. */
export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
