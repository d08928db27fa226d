import { createParser } from 'eventsource-parser';
import OpenAI from 'openai';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type {
  ModelClient,
  LlmRequest,
  CompletionRequest,
  PromptImage,
  PromptMessage,
  ReplySink,
} from './model-client';
import { LlmError } from './model-client';
import { Deadline } from './deadline';
import { retryAfterOf, tooLongToWait } from './guarded-stream';
import { IdleTimer } from './idle-timer';
import { jsonObjectOf } from '../util/json-object';
import { httpFetch, nodeBodyOf } from './http-fetch';

export interface OpenAiModelClientOptions {
  baseUrl?: string;
  apiKey?: string;
  /** Until the response headers arrive (connect + the model starting to answer). */
  firstByteTimeoutMs: number;
  /** Between two chunks of a streaming reply. */
  idleTimeoutMs: number;
  /** Attempts after the first, only before any token arrived (a reply is never sent twice). */
  retriesBeforeFirstToken: number;
  /** Sent as max_tokens: a model (or a hostile compatible server) cannot stream without end. */
  maxReplyTokens?: number;
}

export const DEFAULT_OPENAI_TIMEOUTS = {
  firstByteTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  retriesBeforeFirstToken: 2,
} as const;

const RETRY_BACKOFF_MS = 300;

/**
 * OpenAI's chat completions through the openai SDK: OpenAI itself, or any compatible server
 * (Ollama, vLLM, LiteLLM…) at `baseUrl`. Usage comes from the stream
 * (`stream_options.include_usage`). Timeouts and retries are ours: the SDK's own retries are
 * off, because after the first token a retry would duplicate text.
 */
export class OpenAiModelClient implements ModelClient {
  readonly namesChats = true;
  private readonly client: OpenAI;

  constructor(private readonly options: OpenAiModelClientOptions) {
    this.client = new OpenAI({
      apiKey: options.apiKey ?? 'not-needed',
      baseURL: options.baseUrl,
      maxRetries: 0,
      fetch: httpFetch,
      // Our own timers decide (below); the SDK's would only be a late backstop.
      timeout: options.firstByteTimeoutMs * 2,
    });
  }

  /**
   * The SDK builds and sends the request (auth, base URL, error types for a refused one); the
   * body is read here from Node's own stream (nodeBodyOf), parsed with eventsource-parser and
   * handed to `sink` in the same turn as the network read. The SDK's three nested async
   * generators were a large share of the server's CPU per token (figures: bench/FINDINGS.md, “Behind the code's comments”); a
   * web stream and one async generator in their place still cost a promise or more per token.
   */
  /**
   * A stream that fails before anything reached the reply (dropped, or an error chunk, as an
   * overloaded server sends) is opened again, up to `retriesBeforeFirstToken` times; once a
   * piece went to the sink, never (the reply would be sent twice).
   */
  async stream(request: LlmRequest, sink: ReplySink): Promise<void> {
    const progress = { delivered: false };
    for (let retry = 0; ; retry += 1) {
      try {
        return await this.consume(request, sink, progress);
      } catch (error) {
        const again =
          !request.signal.aborted &&
          !progress.delivered &&
          retry < this.options.retriesBeforeFirstToken &&
          dropped.has(error as object);
        if (!again) throw error;
        await new Promise((resolve) => setTimeout(resolve, RETRY_BACKOFF_MS * 2 ** retry));
      }
    }
  }

  private async consume(
    request: LlmRequest,
    sink: ReplySink,
    progress: { delivered: boolean },
  ): Promise<void> {
    const response = await this.open(request);
    const body = nodeBodyOf(response) ?? Readable.fromWeb(response.body! as WebReadableStream);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      /** Tool calls stream in pieces, by index; each is handed on once the reply is complete. */
      const calls: Array<{ id: string; name: string; arguments: string }> = [];
      const settle = (error?: unknown) => {
        if (settled) return;
        settled = true;
        idle.clear();
        request.signal.removeEventListener('abort', onAbort);
        if (error !== undefined) {
          // A fault, a stop, an idle spell: the upstream is closed at once.
          body.destroy();
          return reject(error);
        }
        // After [DONE] the response is read to its end, so its keep-alive connection goes back
        // to the agent for the next request (destroying it cost a new connection per reply).
        letEnd(body);
        try {
          for (const call of calls) {
            if (call?.name) sink.toolCall({ ...call, arguments: jsonObjectOf(call.arguments) });
          }
          resolve();
        } catch (failed) {
          reject(failed);
        }
      };
      const onAbort = () => settle(request.signal.reason);
      const idle = new IdleTimer(this.options.idleTimeoutMs, () => settle(this.idleError()));
      const parser = createParser({
        onEvent: (message) => {
          if (settled) return;
          if (message.data === '[DONE]') return settle();
          const chunk = parseChunk(message.data);
          if (!chunk || chunk.error !== undefined || message.event === 'error') {
            return settle(
              midStream(new LlmError('The model sent an error or an unreadable chunk.')),
            );
          }
          const choice = chunk.choices?.[0];
          if (choice?.finish_reason === 'content_filter')
            return settle(new LlmError('The model declined to answer (content filter).'));
          const delta = choice?.delta;
          if (delta) {
            if (delta.content) {
              progress.delivered = true;
              sink.delta(delta.content);
            }
            // Compatible servers stream reasoning apart: vLLM and DeepSeek as reasoning_content,
            // OpenRouter and Ollama as reasoning.
            const thought = delta.reasoning_content ?? delta.reasoning;
            if (thought) {
              progress.delivered = true;
              sink.reasoning(thought);
            }
            if (delta.tool_calls) {
              progress.delivered = true;
              gatherToolCalls(calls, delta.tool_calls);
            }
          }
          if (chunk.usage) {
            const reasoningTokens = chunk.usage.completion_tokens_details?.reasoning_tokens;
            sink.usage({
              promptTokens: chunk.usage.prompt_tokens,
              completionTokens: chunk.usage.completion_tokens,
              totalTokens: chunk.usage.total_tokens,
              ...(reasoningTokens ? { reasoningTokens } : {}),
            });
          }
        },
      });
      if (request.signal.aborted) return onAbort();
      request.signal.addEventListener('abort', onAbort, { once: true });
      // Node's own UTF-8 decoder keeps a character cut between two reads whole.
      body.setEncoding('utf8');
      body.on('data', (text: string) => {
        idle.reset();
        try {
          parser.feed(text);
        } catch (error) {
          settle(error); // the sink failed: the reply ends FAILED, the upstream is closed
        }
      });
      // An end without [DONE] is complete (some compatible servers omit it); an idle spell or
      // a stop has settled before.
      body.once('end', () => settle());
      body.once('error', (error) =>
        settle(request.signal.aborted ? request.signal.reason : midStream(toLlmError(error))),
      );
      body.once('close', () => {
        if (!settled) settle(midStream(new LlmError('The model stream ended unexpectedly.')));
      });
    });
  }

  private idleError(): LlmError {
    return new LlmError(`The model sent nothing for ${this.options.idleTimeoutMs / 1000} s.`);
  }

  /**
   * Opens the stream, retrying timeouts, connection failures, 429 and 5xx before any token
   * arrived. The first-byte timeout is our own deadline, so a timeout is told apart from a
   * refused connection whatever the SDK's error classes look like.
   */
  private async open(request: LlmRequest) {
    for (let attempt = 0; ; attempt += 1) {
      const firstByte = new Deadline(request.signal, this.options.firstByteTimeoutMs);
      try {
        const response = await this.client.chat.completions
          .create(
            {
              model: request.model,
              messages: toOpenAi(request.messages),
              stream: true,
              ...(request.tools?.length
                ? {
                    tools: request.tools.map((tool) => ({
                      type: 'function' as const,
                      function: {
                        name: tool.name,
                        description: tool.description,
                        parameters: tool.parameters,
                      },
                    })),
                  }
                : {}),
              stream_options: { include_usage: true },
              ...(this.options.maxReplyTokens ? { max_tokens: this.options.maxReplyTokens } : {}),
            },
            { signal: firstByte.signal },
          )
          .asResponse();
        if (!response.body) throw new LlmError('The model sent an empty answer.');
        // From here the idle timer watches the stream; the signal still follows stop/delete.
        firstByte.disarm();
        return response;
      } catch (error) {
        firstByte.dispose();
        if (request.signal.aborted) throw error;
        const retryable = firstByte.timedOut || isRetryable(error);
        if (attempt >= this.options.retriesBeforeFirstToken || !retryable) {
          throw firstByte.timedOut
            ? new LlmError('The model did not answer in time.')
            : toLlmError(error);
        }
        const asked = retryAfterOf(error instanceof OpenAI.APIError ? error.headers : undefined);
        const refused = tooLongToWait(asked, this.options);
        if (refused) throw refused;
        const wait = asked ?? RETRY_BACKOFF_MS * 2 ** attempt;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  async complete(request: CompletionRequest): Promise<string> {
    const deadline = new Deadline(request.signal, this.options.firstByteTimeoutMs);
    try {
      const completion = await this.client.chat.completions.create(
        {
          model: request.model,
          messages: toOpenAi(request.messages),
          max_tokens: request.maxTokens,
        },
        { signal: deadline.signal },
      );
      if (completion.usage) {
        request.onUsage?.({
          promptTokens: completion.usage.prompt_tokens,
          completionTokens: completion.usage.completion_tokens,
          totalTokens: completion.usage.total_tokens,
        });
      }
      return completion.choices[0]?.message?.content ?? '';
    } catch (error) {
      throw deadline.timedOut
        ? new LlmError('The model did not answer in time.')
        : toLlmError(error);
    } finally {
      deadline.dispose();
    }
  }
}

/** What is left of a response after [DONE] (its last bytes) is this long at most in coming. */
const DRAIN_AFTER_DONE_MS = 1_000;

/** Reads the rest of a finished response; one that does not end soon is closed. */
function letEnd(body: Readable): void {
  if (body.readableEnded || body.destroyed) return;
  const cutOff = setTimeout(() => body.destroy(), DRAIN_AFTER_DONE_MS);
  cutOff.unref();
  body.once('close', () => clearTimeout(cutOff));
  body.resume();
}

/** Failures of a stream after its headers that another attempt may cure (not an idle spell). */
const dropped = new WeakSet<object>();

function midStream(error: LlmError): LlmError {
  dropped.add(error);
  return error;
}

/** A piece of a streamed tool call: the first of an index has its id and name. */
interface ToolCallPiece {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

/** The fields of a streamed chat-completion chunk that a reply needs. */
interface StreamChunk {
  choices?: Array<{
    finish_reason?: string | null;
    delta?: {
      content?: string | null;
      reasoning_content?: string | null;
      reasoning?: string | null;
      tool_calls?: ToolCallPiece[];
    };
  }>;
  usage?: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    completion_tokens_details?: { reasoning_tokens?: number };
  } | null;
  error?: unknown;
}

function gatherToolCalls(
  calls: Array<{ id: string; name: string; arguments: string }>,
  pieces: ToolCallPiece[],
): void {
  for (const piece of pieces) {
    const index = piece.index ?? calls.length;
    const call = (calls[index] ??= { id: '', name: '', arguments: '' });
    if (piece.id) call.id = piece.id;
    if (piece.function?.name) call.name += piece.function.name;
    if (piece.function?.arguments) call.arguments += piece.function.arguments;
    if (!call.id) call.id = `call_${index}`;
  }
}

type OpenAiMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;

/**
 * The conversation in OpenAI's form: a reply that called tools as its steps, each an assistant
 * message with tool_calls followed by one tool message per call.
 */
export function toOpenAi(prompt: readonly PromptMessage[]): OpenAiMessage[] {
  const messages: OpenAiMessage[] = [];
  for (const message of prompt) {
    if (message.role === 'user' && message.images?.length) {
      messages.push({ role: 'user', content: withImages(message.content, message.images) });
      continue;
    }
    if (!message.steps) {
      messages.push({ role: message.role, content: message.content } as OpenAiMessage);
      continue;
    }
    for (const step of message.steps) {
      if (step.toolCalls.length === 0) {
        if (step.text !== '') messages.push({ role: 'assistant', content: step.text });
        continue;
      }
      messages.push({
        role: 'assistant',
        content: step.text === '' ? null : step.text,
        tool_calls: step.toolCalls.map((call) => ({
          id: call.id,
          type: 'function' as const,
          function: { name: call.name, arguments: JSON.stringify(call.arguments) },
        })),
      });
      for (const call of step.toolCalls) {
        messages.push({ role: 'tool', tool_call_id: call.id, content: call.result });
      }
    }
  }
  return messages;
}

type OpenAiUserPart = OpenAI.Chat.Completions.ChatCompletionContentPart;

/**
 * A user's text and images as content parts: the text, then each image as a data URL, the
 * form OpenAI documents and Ollama and compatible servers (vLLM, LiteLLM) take as well.
 * https://platform.openai.com/docs/guides/images-vision
 */
function withImages(text: string, images: readonly PromptImage[]): OpenAiUserPart[] {
  const parts: OpenAiUserPart[] = text === '' ? [] : [{ type: 'text', text }];
  for (const image of images) {
    parts.push({
      type: 'image_url',
      image_url: { url: `data:${image.mediaType};base64,${image.data}` },
    });
  }
  return parts;
}

function parseChunk(data: string): StreamChunk | null {
  try {
    const parsed = JSON.parse(data) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as StreamChunk) : null;
  } catch {
    return null; // not JSON: the stream is broken (the SDK would throw too)
  }
}

function isRetryable(error: unknown): boolean {
  if (error instanceof OpenAI.APIConnectionError) return true;
  if (error instanceof OpenAI.APIError) return error.status === 429 || (error.status ?? 0) >= 500;
  return false;
}

/** Says what failed without leaking keys or upstream internals. */
function toLlmError(error: unknown): LlmError {
  if (error instanceof LlmError) return error;
  if (error instanceof OpenAI.APIConnectionTimeoutError)
    return new LlmError('The model did not answer in time.');
  if (error instanceof OpenAI.APIConnectionError)
    return new LlmError('The model could not be reached.');
  if (error instanceof OpenAI.APIError) {
    if (error.status === 401 || error.status === 403)
      return new LlmError('The model refused the server credentials.');
    if (error.status === 404) return new LlmError('The model is not available upstream.');
    if (error.status === 429) return new LlmError('The model is rate limited; try again shortly.');
    if (error.status) return new LlmError(`The model failed (HTTP ${error.status}).`);
  }
  return new LlmError('The model stream ended unexpectedly.');
}
