import Anthropic from '@anthropic-ai/sdk';
import type {
  ContentBlockParam,
  MessageParam,
  RawMessageStreamEvent,
  Tool,
} from '@anthropic-ai/sdk/resources/messages';
import {
  guardedStream,
  isNetworkFailure,
  refusalOf,
  retryAfterOf,
  type FailureReading,
  type StreamGuards,
} from './guarded-stream';
import { jsonObjectOf } from '../util/json-object';
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

export interface AnthropicModelClientOptions extends StreamGuards {
  apiKey: string;
  baseUrl?: string;
  /** Sent as max_tokens (which the Messages API requires). */
  maxReplyTokens: number;
}

/** Anthropic's floor for a thinking budget; it must also stay below max_tokens. */
const MIN_THINKING_BUDGET = 1024;

/**
 * Claude through Anthropic's Messages API and its official SDK (`@anthropic-ai/sdk`): answer
 * text, extended thinking (with its signature, which must come back with a tool-use turn), and
 * tool use, from the SDK's stream of events. Retries and timeouts are ours (guarded-stream.ts).
 */
export class AnthropicModelClient implements ModelClient {
  readonly namesChats = true;
  private readonly client: Anthropic;

  constructor(private readonly options: AnthropicModelClientOptions) {
    this.client = new Anthropic({
      apiKey: options.apiKey,
      baseURL: options.baseUrl,
      maxRetries: 0,
      fetch: httpFetch,
      timeout: options.firstByteTimeoutMs * 2,
    });
  }

  stream(request: LlmRequest, sink: ReplySink): Promise<void> {
    const budget = Math.floor(this.options.maxReplyTokens / 2);
    const thinking = request.reasoning && budget >= MIN_THINKING_BUDGET;
    const { system, messages } = toAnthropic(request.messages);
    const calls = new Map<number, { id: string; name: string; json: string }>();
    let promptTokens = 0;
    let delivered = false;
    return guardedStream<RawMessageStreamEvent>(
      request.signal,
      this.options,
      READING,
      (signal) =>
        this.client.messages.create(
          {
            model: request.model,
            max_tokens: this.options.maxReplyTokens,
            stream: true,
            ...(system ? { system } : {}),
            messages,
            ...(request.tools?.length ? { tools: request.tools.map(toTool) } : {}),
            ...(thinking ? { thinking: { type: 'enabled', budget_tokens: budget } } : {}),
          },
          { signal },
        ),
      (event) => {
        switch (event.type) {
          case 'message_start':
            promptTokens = event.message.usage.input_tokens;
            break;
          case 'content_block_start':
            if (event.content_block.type === 'tool_use') {
              const { id, name } = event.content_block;
              calls.set(event.index, { id, name, json: '' });
            }
            break;
          case 'content_block_delta': {
            const delta = event.delta;
            if (delta.type === 'text_delta') {
              delivered = true;
              sink.delta(delta.text);
            } else if (delta.type === 'thinking_delta') {
              delivered = true;
              sink.reasoning(delta.thinking);
            } else if (delta.type === 'signature_delta')
              sink.reasoningSignature({ provider: 'ANTHROPIC', value: delta.signature });
            else if (delta.type === 'input_json_delta') {
              const call = calls.get(event.index);
              if (call) call.json += delta.partial_json;
            }
            break;
          }
          case 'content_block_stop': {
            const call = calls.get(event.index);
            if (call) {
              delivered = true;
              sink.toolCall({ id: call.id, name: call.name, arguments: jsonObjectOf(call.json) });
            }
            break;
          }
          case 'message_delta': {
            if (event.delta.stop_reason === 'refusal')
              throw new LlmError('The model declined to answer.');
            const completionTokens = event.usage.output_tokens;
            sink.usage({
              promptTokens,
              completionTokens,
              totalTokens: promptTokens + completionTokens,
            });
            break;
          }
        }
      },
      () => delivered,
    );
  }

  async complete(request: CompletionRequest): Promise<string> {
    const { system, messages } = toAnthropic(request.messages);
    try {
      const message = await this.client.messages.create(
        {
          model: request.model,
          max_tokens: request.maxTokens,
          ...(system ? { system } : {}),
          messages,
        },
        { signal: request.signal, timeout: this.options.firstByteTimeoutMs },
      );
      const { input_tokens, output_tokens } = message.usage;
      request.onUsage?.({
        promptTokens: input_tokens,
        completionTokens: output_tokens,
        totalTokens: input_tokens + output_tokens,
      });
      return message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
    } catch (error) {
      throw READING.toLlmError(error, false);
    }
  }
}

const READING: FailureReading = {
  retryAfterMs: (error) =>
    retryAfterOf(error instanceof Anthropic.APIError ? error.headers : undefined),
  isRetryable: (error) =>
    error instanceof Anthropic.APIConnectionError ||
    isNetworkFailure(error) ||
    (error instanceof Anthropic.APIError &&
      // No status: an error event mid-stream (overloaded_error, api_error).
      (error.status === undefined || error.status === 429 || error.status >= 500)),
  toLlmError: (error, midStream) => {
    if (error instanceof LlmError) return error;
    if (midStream && (error instanceof Anthropic.APIConnectionError || isNetworkFailure(error)))
      return new LlmError('The model stream ended unexpectedly.');
    if (error instanceof Anthropic.APIConnectionTimeoutError)
      return new LlmError('The model did not answer in time.');
    if (error instanceof Anthropic.APIConnectionError)
      return new LlmError('The model could not be reached.');
    if (error instanceof Anthropic.APIError) {
      return refusalOf(error.status) ?? new LlmError('The model sent an error mid-reply.');
    }
    return new LlmError('The model stream ended unexpectedly.');
  },
};

function toTool(tool: { name: string; description: string; parameters: object }): Tool {
  return {
    name: tool.name,
    description: tool.description,
    input_schema: tool.parameters as Tool['input_schema'],
  };
}

/**
 * The conversation in Anthropic's form: system text apart; a reply that called tools as its
 * steps, each an assistant turn (thinking with its signature, only if Anthropic gave it; text;
 * tool_use blocks) followed by a user turn of tool_result blocks; turns of one role in a row
 * joined, since the API wants them to alternate.
 */
export function toAnthropic(prompt: readonly PromptMessage[]): {
  system: string;
  messages: MessageParam[];
} {
  const system = systemTextOf(prompt);
  const messages: MessageParam[] = [];
  const add = (role: 'user' | 'assistant', blocks: ContentBlockParam[]) => {
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    if (last && last.role === role) (last.content as ContentBlockParam[]).push(...blocks);
    else messages.push({ role, content: blocks } as MessageParam);
  };
  for (const message of prompt) {
    if (message.role === 'system') continue;
    if (message.role === 'user' && message.images?.length) {
      add('user', withImages(message.content, message.images));
      continue;
    }
    if (message.role === 'user' || !message.steps) {
      if (message.content !== '')
        add(message.role === 'user' ? 'user' : 'assistant', [
          { type: 'text', text: message.content },
        ]);
      continue;
    }
    for (const step of message.steps) {
      const blocks: ContentBlockParam[] = [];
      const signature = step.reasoningSignature;
      if (signature?.provider === 'ANTHROPIC') {
        blocks.push({ type: 'thinking', thinking: step.reasoning, signature: signature.value });
      }
      if (step.text !== '') blocks.push({ type: 'text', text: step.text });
      for (const call of step.toolCalls) {
        blocks.push({ type: 'tool_use', id: call.id, name: call.name, input: call.arguments });
      }
      add('assistant', blocks);
      add(
        'user',
        step.toolCalls.map((call) => ({
          type: 'tool_result' as const,
          tool_use_id: call.id,
          content: call.result,
          is_error: call.isError,
        })),
      );
    }
  }
  return { system, messages };
}

/**
 * A user's images as base64 image blocks, then the text: Anthropic finds images placed before
 * the question work best. https://docs.anthropic.com/en/docs/build-with-claude/vision
 */
function withImages(text: string, images: readonly PromptImage[]): ContentBlockParam[] {
  const blocks: ContentBlockParam[] = images.map((image) => ({
    type: 'image',
    source: { type: 'base64', media_type: image.mediaType, data: image.data },
  }));
  if (text !== '') blocks.push({ type: 'text', text });
  return blocks;
}
