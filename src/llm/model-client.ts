import type { ProviderName } from '../config/provider-names';

/**
 * Something a provider gave with a step that only it can read back (Anthropic's thinking
 * signature, Gemini's thought signature): sent again with that step to the same provider,
 * dropped for any other (a chat may switch provider between turns).
 */
export interface ProviderSignature {
  provider: ProviderName;
  value: string;
}

/** A tool the model may call: its name and its arguments' JSON Schema. */
export interface ToolDefinition {
  name: string;
  description: string;
  /** A JSON Schema of an object (what every provider takes for a function's parameters). */
  parameters: Record<string, unknown>;
}

/** A tool call as the model asked for it, and, in history, how it ended. */
export interface ToolCallRequest {
  /** The provider's id for the call (made up when it gives none): its result answers it. */
  id: string;
  name: string;
  arguments: Record<string, unknown>;
  signature?: ProviderSignature;
}

export interface ToolCallOutcome extends ToolCallRequest {
  /** What the tool returned, or why it failed or was not run (sent to the model either way). */
  result: string;
  isError: boolean;
}

/**
 * One model call of a reply that used tools: what the model said and thought, and the tools it
 * called with their outcomes. Each model client writes steps in its provider's own form.
 */
export interface ReplyStep {
  reasoning: string;
  reasoningSignature?: ProviderSignature;
  text: string;
  toolCalls: ToolCallOutcome[];
}

/** The image types every vision model takes. */
export const IMAGE_MEDIA_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'] as const;
export type ImageMediaType = (typeof IMAGE_MEDIA_TYPES)[number];

/** An image attached to a user's message, sent to models that read images. */
export interface PromptImage {
  mediaType: ImageMediaType;
  /** The bytes, base64-encoded. */
  data: string;
}

/** One message of the conversation sent to a model. */
export interface PromptMessage {
  role: 'system' | 'user' | 'assistant';
  /** The text (an assistant's answer text; a user's prompt with its documents' text). */
  content: string;
  /** A user message's images, in the order attached (only to models with vision). */
  images?: PromptImage[];
  /** An assistant reply's steps when it called tools; `content` is then its last step's text. */
  steps?: ReplyStep[];
}

export interface ReportedUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Of the completion tokens, those spent reasoning, when the provider says. */
  reasoningTokens?: number;
}

/**
 * Where a streaming reply goes: answer text and reasoning as they come, each tool call once
 * its arguments are complete, and usage once, when the provider reports it. Called
 * synchronously, as each piece is read: a reply is the hot path of a chat server, and a
 * promise per token (an async iterator) measured as a visible share of its CPU.
 */
export interface ReplySink {
  delta(text: string): void;
  reasoning(text: string): void;
  /** The signature of the reasoning streamed so far in this step (Anthropic). */
  reasoningSignature(signature: ProviderSignature): void;
  toolCall(call: ToolCallRequest): void;
  usage(usage: ReportedUsage): void;
}

export interface LlmRequest {
  model: string;
  messages: PromptMessage[];
  /** Aborting it stops the upstream request at once (stop, delete, shutdown). */
  signal: AbortSignal;
  /** Tools the model may call in this step (none: a plain reply). */
  tools?: ToolDefinition[];
  /** Ask the model for its reasoning (only of models that can give it). */
  reasoning?: boolean;
}

/** A short completion's request: every model call counts (issue 35), titles included. */
export interface CompletionRequest extends LlmRequest {
  maxTokens: number;
  onUsage?: (usage: ReportedUsage) => void;
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
  /** A short non-streaming completion (chat titles); its usage goes to `onUsage` when reported. */
  complete(request: CompletionRequest): Promise<string>;
  /** Whether its models can name a chat better than its first prompt does (TitleImprover). */
  readonly namesChats: boolean;
}

/** The system messages of a conversation as one text (providers that take it apart). */
export function systemTextOf(messages: readonly PromptMessage[]): string {
  return messages
    .filter((message) => message.role === 'system')
    .map((message) => message.content)
    .join('\n\n');
}

/** The model could not give a reply; the message is safe to show and to store. */
export class LlmError extends Error {
  override name = 'LlmError';
}
