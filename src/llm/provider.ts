/** One message of the conversation sent to a model. */
export interface PromptMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/** What a streaming reply yields: text as it comes, and usage once, when the provider reports it. */
export type LlmStreamEvent = { type: 'delta'; text: string } | { type: 'usage'; usage: TokenUsage };

export interface LlmRequest {
  model: string;
  messages: PromptMessage[];
  /** Aborting it stops the upstream request at once (stop, delete, shutdown). */
  signal: AbortSignal;
}

/**
 * The client of one family of chat models (the GraphQL enum LlmProvider names the family).
 * Implementations talk to one upstream; callers own cancellation
 * through `signal`, never through iterator `return()` (a pending `next()` would delay it).
 */
export interface ModelClient {
  stream(request: LlmRequest): AsyncIterable<LlmStreamEvent>;
  /** A short non-streaming completion (chat titles). */
  complete(request: LlmRequest & { maxTokens: number }): Promise<string>;
}

/** The provider could not give a reply; the message is safe to show and to store. */
export class LlmError extends Error {
  override name = 'LlmError';
}
