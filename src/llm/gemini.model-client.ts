import {
  ApiError,
  GoogleGenAI,
  type Content,
  type GenerateContentResponse,
  type Part,
} from '@google/genai';
import { randomUUID } from 'node:crypto';
import { guardedStream, refusalOf, type FailureReading, type StreamGuards } from './guarded-stream';
import { httpFetch } from './http-fetch';
import {
  LlmError,
  type LlmRequest,
  type CompletionRequest,
  type ModelClient,
  type PromptImage,
  type PromptMessage,
  type ReplySink,
  systemTextOf,
} from './model-client';

export interface GeminiModelClientOptions extends StreamGuards {
  apiKey: string;
  baseUrl?: string;
  /** Sent as maxOutputTokens. */
  maxReplyTokens?: number;
}

/**
 * Gemini through its official SDK (`@google/genai`): streamed parts (answer text, thought
 * summaries, function calls with their thought signatures, which Gemini wants back with the
 * call). The SDK is given our fetch: its own looks for undici's dispatcher on the global
 * object, which a test runner's global may lack. Retries and timeouts are ours (its
 * `httpOptions.timeout` would bound the whole streamed body).
 */
export class GeminiModelClient implements ModelClient {
  readonly namesChats = true;
  private readonly client: GoogleGenAI;

  constructor(private readonly options: GeminiModelClientOptions) {
    this.client = new GoogleGenAI({
      apiKey: options.apiKey,
      apiVersion: 'v1beta',
      httpOptions: { ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}), fetch: httpFetch },
    });
  }

  stream(request: LlmRequest, sink: ReplySink): Promise<void> {
    let usage: GenerateContentResponse['usageMetadata'];
    let delivered = false;
    return guardedStream<GenerateContentResponse>(
      request.signal,
      this.options,
      READING,
      (signal) =>
        this.client.models.generateContentStream({
          model: request.model,
          contents: toGemini(request.messages),
          config: { ...this.config(request), abortSignal: signal },
        }),
      (chunk) => {
        const candidate = chunk.candidates?.[0];
        const blocked = chunk.promptFeedback?.blockReason ?? refusedFinish(candidate?.finishReason);
        if (blocked) throw new LlmError(`The model declined to answer (${blocked}).`);
        for (const part of candidate?.content?.parts ?? []) {
          delivered = true;
          if (part.functionCall) {
            const call = part.functionCall;
            sink.toolCall({
              id: call.id ?? `call_${randomUUID()}`,
              name: call.name ?? '',
              arguments: call.args ?? {},
              ...(part.thoughtSignature
                ? { signature: { provider: 'GEMINI' as const, value: part.thoughtSignature } }
                : {}),
            });
          } else if (part.text) {
            if (part.thought) sink.reasoning(part.text);
            else sink.delta(part.text);
          }
        }
        // Each chunk carries the usage so far: the last one is the reply's.
        if (chunk.usageMetadata) usage = chunk.usageMetadata;
      },
      () => delivered,
    ).then(() => {
      if (!usage) return;
      const promptTokens = usage.promptTokenCount ?? 0;
      const reasoningTokens = usage.thoughtsTokenCount ?? 0;
      const completionTokens = (usage.candidatesTokenCount ?? 0) + reasoningTokens;
      sink.usage({
        promptTokens,
        completionTokens,
        totalTokens: usage.totalTokenCount ?? promptTokens + completionTokens,
        ...(reasoningTokens ? { reasoningTokens } : {}),
      });
    });
  }

  async complete(request: CompletionRequest): Promise<string> {
    try {
      const response = await this.client.models.generateContent({
        model: request.model,
        contents: toGemini(request.messages),
        config: {
          ...this.config(request),
          maxOutputTokens: request.maxTokens,
          abortSignal: request.signal,
        },
      });
      const counted = response.usageMetadata;
      if (counted) {
        const prompt = counted.promptTokenCount ?? 0;
        const completion = (counted.candidatesTokenCount ?? 0) + (counted.thoughtsTokenCount ?? 0);
        request.onUsage?.({
          promptTokens: prompt,
          completionTokens: completion,
          totalTokens: counted.totalTokenCount ?? prompt + completion,
          ...(counted.thoughtsTokenCount ? { reasoningTokens: counted.thoughtsTokenCount } : {}),
        });
      }
      return response.text ?? '';
    } catch (error) {
      throw READING.toLlmError(error, false);
    }
  }

  private config(request: LlmRequest) {
    const system = systemTextOf(request.messages);
    return {
      ...(system ? { systemInstruction: system } : {}),
      ...(this.options.maxReplyTokens ? { maxOutputTokens: this.options.maxReplyTokens } : {}),
      ...(request.reasoning ? { thinkingConfig: { includeThoughts: true } } : {}),
      ...(request.tools?.length
        ? {
            tools: [
              {
                functionDeclarations: request.tools.map((tool) => ({
                  name: tool.name,
                  description: tool.description,
                  parametersJsonSchema: tool.parameters,
                })),
              },
            ],
          }
        : {}),
    };
  }
}

const READING: FailureReading = {
  isRetryable: (error) =>
    error instanceof ApiError
      ? error.status === 429 || error.status >= 500
      : !(error instanceof LlmError) && !isAbort(error),
  toLlmError: (error) => {
    if (error instanceof LlmError) return error;
    if (error instanceof ApiError) {
      return refusalOf(error.status) ?? new LlmError('The model sent an error mid-reply.');
    }
    return new LlmError('The model stream ended unexpectedly.');
  },
};

/** Finish reasons that mean the model would not answer (Gemini's FinishReason). */
const REFUSALS = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII']);

function refusedFinish(reason: string | undefined): string | undefined {
  return reason && REFUSALS.has(reason) ? reason : undefined;
}

function isAbort(error: unknown): boolean {
  return (error as { name?: string } | null)?.name === 'AbortError';
}

/**
 * The conversation in Gemini's form: the system text goes in the config; a reply that called
 * tools as its steps, each a model turn (text, then functionCall parts, with the signature
 * Gemini gave, never another provider's) followed by a user turn of functionResponse parts.
 */
export function toGemini(prompt: readonly PromptMessage[]): Content[] {
  const contents: Content[] = [];
  const add = (role: 'user' | 'model', parts: Part[]) => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    if (last && last.role === role) last.parts!.push(...parts);
    else contents.push({ role, parts });
  };
  for (const message of prompt) {
    if (message.role === 'system') continue;
    const role = message.role === 'user' ? 'user' : 'model';
    if (role === 'user' && message.images?.length) {
      add('user', withImages(message.content, message.images));
      continue;
    }
    if (!message.steps) {
      if (message.content !== '') add(role, [{ text: message.content }]);
      continue;
    }
    for (const step of message.steps) {
      add('model', [
        ...(step.text !== '' ? [{ text: step.text }] : []),
        ...step.toolCalls.map((call): Part => ({
          functionCall: { id: call.id, name: call.name, args: call.arguments },
          ...(call.signature?.provider === 'GEMINI'
            ? { thoughtSignature: call.signature.value }
            : {}),
        })),
      ]);
      add(
        'user',
        step.toolCalls.map((call): Part => ({
          functionResponse: {
            id: call.id,
            name: call.name,
            response: call.isError ? { error: call.result } : { output: call.result },
          },
        })),
      );
    }
  }
  return contents;
}

/**
 * A user's images as inline data parts, then the text part: Google's guide puts a single
 * image before the prompt's text. https://ai.google.dev/gemini-api/docs/image-understanding
 */
function withImages(text: string, images: readonly PromptImage[]): Part[] {
  const parts: Part[] = images.map((image) => ({
    inlineData: { mimeType: image.mediaType, data: image.data },
  }));
  if (text !== '') parts.push({ text });
  return parts;
}
