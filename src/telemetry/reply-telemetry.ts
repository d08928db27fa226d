import { SpanKind, type Attributes, type Context, type Span } from '@opentelemetry/api';
import type { ProviderName } from '../config/provider-names';
import type { ReportedUsage } from '../llm/model-client';
import type { Metrics } from '../metrics/metrics';
import { context, failSpan, SpanStatusCode, trace, tracer } from './spans';

/**
 * `gen_ai.provider.name` of each provider: the well-known values of the GenAI semantic
 * conventions where there is one (https://opentelemetry.io/docs/specs/semconv/gen-ai/).
 */
const GEN_AI_PROVIDER: Record<ProviderName, string> = {
  OPEN_AI: 'openai',
  ANTHROPIC: 'anthropic',
  GEMINI: 'gcp.gemini',
  OLLAMA: 'ollama',
  OPENAI_COMPATIBLE: 'openai_compatible',
  ECHO: 'palaver.echo',
};

/** The GenAI attributes Palaver sets (semantic conventions, incubating: copied, not imported). */
export const GenAi = {
  OPERATION: 'gen_ai.operation.name',
  PROVIDER: 'gen_ai.provider.name',
  REQUEST_MODEL: 'gen_ai.request.model',
  CONVERSATION: 'gen_ai.conversation.id',
  INPUT_TOKENS: 'gen_ai.usage.input_tokens',
  OUTPUT_TOKENS: 'gen_ai.usage.output_tokens',
  TIME_TO_FIRST_CHUNK: 'gen_ai.response.time_to_first_chunk',
  TOOL_NAME: 'gen_ai.tool.name',
  TOOL_CALL_ID: 'gen_ai.tool.call.id',
  TOOL_TYPE: 'gen_ai.tool.type',
} as const;

/** How a reply's tool call ended, for the metric (the call's status, lower case). */
export type ToolOutcome = 'complete' | 'failed' | 'denied';

/** What the reply pipeline tells of each reply: its spans and its metrics. */
export class ReplyTelemetry {
  constructor(private readonly metrics?: Metrics) {}

  /** Starts watching a reply, as a child of the active span (the sendMessage operation's). */
  start(reply: { provider: ProviderName; model: string; chatId: string; messageId: string }) {
    return new ReplyWatch(this.metrics, reply);
  }
}

/**
 * One reply's span (`reply`, with a `chat <model>` span per model call) and figures. Its
 * per-token method, `chunk`, is one comparison after the first chunk of each model call: no
 * span, promise or allocation per token.
 */
export class ReplyWatch {
  private readonly span: Span;
  private readonly context: Context;
  private readonly startedAt = performance.now();
  private readonly provider: string;
  private firstChunkSeen = false;
  private stepSpan: Span | null = null;
  private stepStartedAt = 0;
  private stepChunkSeen = true;
  private inputTokens = 0;
  private outputTokens = 0;

  constructor(
    private readonly metrics: Metrics | undefined,
    private readonly reply: {
      provider: ProviderName;
      model: string;
      chatId: string;
      messageId: string;
    },
  ) {
    this.provider = GEN_AI_PROVIDER[reply.provider];
    const parent = context.active();
    this.span = tracer.startSpan(
      'reply',
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          [GenAi.OPERATION]: 'invoke_agent',
          [GenAi.PROVIDER]: this.provider,
          [GenAi.REQUEST_MODEL]: reply.model,
          [GenAi.CONVERSATION]: reply.chatId,
          'palaver.message.id': reply.messageId,
        },
      },
      parent,
    );
    this.context = trace.setSpan(parent, this.span);
  }

  /** Runs `fn` with the reply's span active: what it starts is part of the reply's trace. */
  within<T>(fn: () => T): T {
    return context.with(this.context, fn);
  }

  /** One model call (a step) of the reply, in its own span. */
  async modelCall<T>(step: number, fn: () => Promise<T>): Promise<T> {
    const attributes: Attributes = {
      [GenAi.OPERATION]: 'chat',
      [GenAi.PROVIDER]: this.provider,
      [GenAi.REQUEST_MODEL]: this.reply.model,
      'palaver.reply.step': step,
    };
    const span = tracer.startSpan(
      `chat ${this.reply.model}`,
      { kind: SpanKind.CLIENT, attributes },
      this.context,
    );
    this.stepSpan = span;
    this.stepStartedAt = performance.now();
    this.stepChunkSeen = false;
    try {
      return await context.with(trace.setSpan(this.context, span), fn);
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
      this.stepSpan = null;
      this.stepChunkSeen = true;
    }
  }

  /** A piece of text or reasoning arrived (per token: keep it a comparison). */
  chunk(): void {
    if (this.stepChunkSeen) return;
    this.firstChunkOfStep();
  }

  /** A model call's usage, as its provider reported it. */
  usage(usage: ReportedUsage): void {
    this.inputTokens += usage.promptTokens;
    this.outputTokens += usage.completionTokens;
    this.stepSpan?.setAttributes({
      [GenAi.INPUT_TOKENS]: usage.promptTokens,
      [GenAi.OUTPUT_TOKENS]: usage.completionTokens,
    });
  }

  /** A tool call ended; `offered` is false for a name the model made up (not a label value). */
  toolEnded(name: string, outcome: ToolOutcome, offered: boolean): void {
    this.metrics?.toolCalls.inc({ tool: offered ? name : 'unknown', outcome });
  }

  /** The reply ended with this status (null: its chat was deleted). */
  end(status: string | null): void {
    const { model } = this.reply;
    const provider = this.provider;
    const seconds = (performance.now() - this.startedAt) / 1000;
    this.span.setAttributes({
      [GenAi.INPUT_TOKENS]: this.inputTokens,
      [GenAi.OUTPUT_TOKENS]: this.outputTokens,
      'palaver.reply.status': status ?? 'DELETED',
    });
    if (status !== null && status !== 'COMPLETE')
      this.span.setStatus({ code: SpanStatusCode.ERROR });
    this.span.end();
    if (!this.metrics) return;
    this.metrics.replyDuration.observe(
      { provider, model, status: (status ?? 'DELETED').toLowerCase() },
      seconds,
    );
    if (this.inputTokens > 0)
      this.metrics.tokens.inc({ provider, model, type: 'input' }, this.inputTokens);
    if (this.outputTokens > 0)
      this.metrics.tokens.inc({ provider, model, type: 'output' }, this.outputTokens);
  }

  private firstChunkOfStep(): void {
    this.stepChunkSeen = true;
    const now = performance.now();
    this.stepSpan?.setAttribute(GenAi.TIME_TO_FIRST_CHUNK, (now - this.stepStartedAt) / 1000);
    if (this.firstChunkSeen) return;
    this.firstChunkSeen = true;
    const seconds = (now - this.startedAt) / 1000;
    this.span.setAttribute(GenAi.TIME_TO_FIRST_CHUNK, seconds);
    this.metrics?.timeToFirstToken.observe(
      { provider: this.provider, model: this.reply.model },
      seconds,
    );
  }
}
