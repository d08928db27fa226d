/** One message of the conversation sent to a model. */
export interface PromptMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ReportedUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/**
 * Where a streaming reply goes: text as it comes, and usage once, when the provider reports
 * it. Called synchronously, as each piece is read: a reply is the hot path of a chat server,
 * and a promise per token (an async iterator) measured as a visible share of its CPU.
 */
export interface ReplySink {
  delta(text: string): void;
  usage(usage: ReportedUsage): void;
}

export interface LlmRequest {
  model: string;
  messages: PromptMessage[];
  /** Aborting it stops the upstream request at once (stop, delete, shutdown). */
  signal: AbortSignal;
}

/**
 * The client of one family of chat models (the GraphQL enum LlmProvider names the family).
 * Implementations talk to one upstream; callers own cancellation through `signal`.
 */
export interface ModelClient {
  /**
   * Streams the reply into `sink`. Settles when the reply has ended: resolves when it is
   * complete, rejects with an LlmError when the model failed, or with the signal's reason as
   * soon as the signal aborts. Nothing reaches `sink` after it settles.
   */
  stream(request: LlmRequest, sink: ReplySink): Promise<void>;
  /** A short non-streaming completion (chat titles). */
  complete(request: LlmRequest & { maxTokens: number }): Promise<string>;
  /** Whether its models can name a chat better than its first prompt does (TitleImprover). */
  readonly namesChats: boolean;
}

/** The model could not give a reply; the message is safe to show and to store. */
export class LlmError extends Error {
  override name = 'LlmError';
}
