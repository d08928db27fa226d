import type { Logger } from '../../../log/logger';
import {
  LlmError,
  type ModelClient,
  type PromptMessage,
  type ReportedUsage,
  type ToolCallRequest,
  type ToolDefinition,
} from '../../../llm/model-client';
import { MessageStatus, ToolCallStatus } from '../chat-enums';
import type { MessageRecord, MessageModel } from '../message.model';
import { Coalescer } from './coalescer';
import { ReplyContent } from './reply-content';
import type { PartialSaves } from './partial-saves';
import type { ReplyLog } from './reply-log';
import { updateByIdIf } from '../../../db/by-id';
import { Types } from 'mongoose';

/** Why a reply ended early; `deleted` means there is nothing left to save. */
export type StopReason = 'stopped' | 'interrupted' | 'deleted';

export interface ReplyOptions {
  /** Deltas are joined over up to this window, as busy as the server is (0: one delta per token). */
  coalesceMs: number;
  /** Partial text is saved at most this often while streaming. */
  saveIntervalMs: number;
  /**
   * The longest a reply may stream; then it ends FAILED with its text so far. The idle timer
   * alone cannot end an upstream that drips a token just often enough to stay alive.
   */
  maxReplyMs: number;
}

/** A final save that fails is tried again after this, doubling up to the maximum. */
const FINAL_SAVE_FIRST_RETRY_MS = 100;
const FINAL_SAVE_MAX_RETRY_MS = 2_000;

export const DEFAULT_REPLY_OPTIONS: ReplyOptions = {
  coalesceMs: 30,
  saveIntervalMs: 1_000,
  maxReplyMs: 600_000,
};

/** The tools a reply may call, and how they run (the chat's choice, see modules/tools). */
export interface ReplyTools {
  definitions: ToolDefinition[];
  /** Model calls a reply may make, the last one without tools (so it answers). */
  maxSteps: number;
  /** Runs one call; a failure is an outcome (sent to the model), never a throw, unless aborted. */
  run(call: ToolCallRequest, signal: AbortSignal): Promise<{ result: string; isError: boolean }>;
  /** Whether this call waits for the user's approval before it runs. */
  needsApproval(call: ToolCallRequest): boolean;
  /**
   * Waits for approveToolCall of this call; `pending` makes the wait visible first (it saves
   * the reply's parts, where approveToolCall looks for the call).
   */
  approval(
    callId: string,
    signal: AbortSignal,
    pending: () => Promise<void>,
  ): Promise<'approved' | 'denied' | 'timed out'>;
}

/** What the model is told of a call that did not run. */
const NOT_APPROVED = {
  denied: 'The user did not approve this call.',
  'timed out': 'No approval came in time; the call did not run.',
} as const;

export interface ReplyRequest {
  messageId: string;
  chatId: string;
  userId: string;
  modelClient: ModelClient;
  model: string;
  messages: PromptMessage[];
  /** Ask the model for its reasoning (it can give it). */
  reasoning?: boolean;
  tools?: ReplyTools;
}

/**
 * One assistant reply being written. The database is never written per token: partial text
 * at most once per `saveIntervalMs` (with every other reply's, see PartialSaves), and once at
 * the end with the final status. Subscribers are
 * fed from the reply's log, so saving never depends on anyone listening.
 */
export class Reply {
  private readonly controller = new AbortController();
  private stopReason: StopReason | null = null;
  /** Its text, reasoning and tool calls as they came (joined when saved). */
  private readonly content = new ReplyContent();
  /** Summed over the reply's steps. */
  private usage: ReportedUsage | null = null;
  private finished: Promise<MessageRecord | null> | null = null;

  constructor(
    readonly request: ReplyRequest,
    private readonly log: ReplyLog,
    private readonly models: { Message: MessageModel },
    private readonly options: ReplyOptions,
    private readonly partials: PartialSaves,
    private readonly logger: Logger,
    /** Aborted when retries must end (the shutdown grace is over): one more try, then give up. */
    private readonly stopRetrying: AbortSignal = new AbortController().signal,
    /** How busy the server is, 0 to 1: the share of the coalescing window to use (LoadGauge). */
    private readonly busyness: () => number = () => 1,
  ) {}

  /**
   * Starts writing the reply (once; the owner registers the reply first). The promise
   * never rejects: whatever fails on the way, the reply is saved FAILED with its text so far
   * and subscribers get their done event, so nothing is left STREAMING or unhandled.
   */
  start(): Promise<MessageRecord | null> {
    this.finished ??= this.run().catch(async (caught: unknown) => {
      this.logger.error({ err: caught, messageId: this.request.messageId }, 'reply failed');
      const record =
        this.stopReason === 'deleted'
          ? null
          : await this.saveFinal(MessageStatus.FAILED, 'The reply could not be completed.');
      this.finishLog(record);
      return record;
    });
    return this.finished;
  }

  /** The saved record once the reply has ended (null when its chat was deleted). */
  get done(): Promise<MessageRecord | null> {
    return this.start();
  }

  /** Ends the reply now: the upstream request is aborted at once, and the text so far is kept. */
  stop(reason: StopReason): Promise<MessageRecord | null> {
    this.stopReason ??= reason;
    this.controller.abort(new Error(`reply ${reason}`));
    return this.done;
  }

  private async run(): Promise<MessageRecord | null> {
    const log = this.log;
    const text = new Coalescer(this.options.coalesceMs, this.busyness, (piece) =>
      log.append(piece),
    );
    const reasoning = new Coalescer(this.options.coalesceMs, this.busyness, (piece) =>
      log.appendReasoning(piece),
    );
    this.partials.track(this.request.messageId, {
      length: () => this.content.version,
      text: () => this.content.content,
      extra: () => this.savedParts(),
    });
    let status = MessageStatus.COMPLETE;
    let error: string | null = null;
    let overDeadline = false;
    const deadline = setTimeout(() => {
      overDeadline = true;
      this.controller.abort(new Error('reply over its deadline'));
    }, this.options.maxReplyMs);
    try {
      await this.steps(text, reasoning);
    } catch (caught) {
      if (this.stopReason) {
        status = this.stopReason === 'stopped' ? MessageStatus.STOPPED : MessageStatus.INTERRUPTED;
      } else if (!overDeadline) {
        status = MessageStatus.FAILED;
        error = caught instanceof LlmError ? caught.message : 'The model failed unexpectedly.';
        if (!(caught instanceof LlmError)) this.logger.error({ err: caught }, 'reply failed');
      }
    } finally {
      clearTimeout(deadline);
      reasoning.flush();
      text.flush();
      // The final save must not race a partial one that would overwrite the final status' text.
      await this.partials.untrack(this.request.messageId);
    }
    // Cut off at the deadline, whether the upstream then threw or ended quietly.
    if (overDeadline && !this.stopReason) {
      status = MessageStatus.FAILED;
      error = `The reply took longer than ${Math.round(this.options.maxReplyMs / 1000)} s and was cut off.`;
    }
    // A stop that raced the upstream's last chunk still counts as the user's stop.
    if (this.stopReason && status === MessageStatus.COMPLETE) {
      status = this.stopReason === 'stopped' ? MessageStatus.STOPPED : MessageStatus.INTERRUPTED;
    }
    if (status !== MessageStatus.COMPLETE) this.content.endOpenCalls('The reply ended first.');
    const record = this.stopReason === 'deleted' ? null : await this.saveFinal(status, error);
    this.finishLog(record);
    return record;
  }

  /**
   * Model calls until one asks for no tool, at most `maxSteps` (the last offered no tools):
   * each call's tool calls run in order, each shown as it starts and as it ends, and the next
   * call sees them with their outcomes. Answer text and reasoning are coalesced apart; one is
   * flushed before the other starts, so their events keep the order the model gave.
   */
  private async steps(text: Coalescer, reasoning: Coalescer): Promise<void> {
    const { request } = this;
    const maxSteps = request.tools ? request.tools.maxSteps : 1;
    const signal = this.controller.signal;
    let messages = request.messages;
    for (let step = 1; ; step += 1) {
      const calls: ToolCallRequest[] = [];
      await request.modelClient.stream(
        {
          model: request.model,
          messages,
          signal,
          reasoning: request.reasoning,
          tools: request.tools && step < maxSteps ? request.tools.definitions : undefined,
        },
        {
          delta: (piece) => {
            reasoning.flush();
            this.content.text(piece);
            text.push(piece);
          },
          reasoning: (piece) => {
            text.flush();
            this.content.reasoning(piece);
            reasoning.push(piece);
          },
          reasoningSignature: (signature) => this.content.reasoningSignature(signature),
          toolCall: (call) => calls.push(call),
          usage: (usage) => (this.usage = addUsage(this.usage, usage)),
        },
      );
      if (calls.length === 0 || !request.tools) return;
      reasoning.flush();
      text.flush();
      for (const call of calls) await this.runTool(call, request.tools, signal);
      messages = [
        ...request.messages,
        { role: 'assistant', content: this.content.content, steps: this.content.steps() },
      ];
    }
  }

  private async runTool(call: ToolCallRequest, tools: ReplyTools, signal: AbortSignal) {
    const asked = {
      id: call.id,
      name: call.name,
      arguments: call.arguments,
      status: ToolCallStatus.PENDING_APPROVAL,
      result: null,
      error: null,
    };
    if (tools.needsApproval(call)) {
      this.content.toolCall(asked, call.signature);
      this.log.appendToolCall(asked);
      const answer = await tools.approval(call.id, signal, () => this.saveParts());
      if (answer !== 'approved') {
        const denied = { ...asked, status: ToolCallStatus.DENIED, error: NOT_APPROVED[answer] };
        this.content.toolCall(denied);
        this.log.appendToolCall(denied);
        return;
      }
    }
    const started = { ...asked, status: ToolCallStatus.RUNNING };
    this.content.toolCall(started, call.signature);
    this.log.appendToolCall(started);
    const outcome = await tools.run(call, signal);
    signal.throwIfAborted();
    const ended = {
      ...started,
      status: outcome.isError ? ToolCallStatus.FAILED : ToolCallStatus.COMPLETE,
      result: outcome.isError ? null : outcome.result,
      error: outcome.isError ? outcome.result : null,
    };
    this.content.toolCall(ended);
    this.log.appendToolCall(ended);
  }

  /** Saves the parts now (a call that waits for approval is then found by approveToolCall). */
  private async saveParts(): Promise<void> {
    await this.models.Message.collection.updateOne(
      { _id: new Types.ObjectId(this.request.messageId) },
      { $set: { content: this.content.content, ...this.savedParts() } },
    );
  }

  /** What a save writes besides `content`: the parts and reasoning, when there are any. */
  private savedParts(): Record<string, unknown> | null {
    const parts = this.content.stored();
    return parts ? { parts, reasoning: this.content.reasoningText } : null;
  }

  private finishLog(record: MessageRecord | null): void {
    try {
      this.log.finish(record);
    } catch (caught) {
      this.logger.error(
        { err: caught, messageId: this.request.messageId },
        'ending a reply log failed',
      );
    }
  }

  /**
   * Saves the reply's end. A database that is down at that moment (a blip, a failover) must
   * not cost the reply its tail: the save is tried again with backoff until the database
   * answers, and subscribers get their done event once it is saved. Only when retries must end
   * (shutdown) does it give up; the reply then stays STREAMING and the next start marks it
   * INTERRUPTED with the last partial save.
   */
  private async saveFinal(
    status: MessageStatus,
    error: string | null,
  ): Promise<MessageRecord | null> {
    let delay = FINAL_SAVE_FIRST_RETRY_MS;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await updateByIdIf(
          this.models.Message,
          this.request.messageId,
          // Unless another instance may have ended it (a takeover), it is still STREAMING.
          this.log.exclusive ? {} : { status: MessageStatus.STREAMING },
          {
            $set: {
              content: this.content.content,
              ...this.savedParts(),
              status,
              error,
              usage: this.usage,
            },
          },
        );
      } catch (caught) {
        const context = { err: caught, messageId: this.request.messageId, attempt };
        if (this.stopRetrying.aborted) {
          this.logger.error(context, 'saving the final reply failed; giving up at shutdown');
          return null;
        }
        if (attempt === 1) this.logger.warn(context, 'saving the final reply failed; retrying');
        await sleepUnless(delay, this.stopRetrying);
        delay = Math.min(delay * 2, FINAL_SAVE_MAX_RETRY_MS);
      }
    }
  }
}

/** Usage summed over a reply's steps. */
function addUsage(sum: ReportedUsage | null, usage: ReportedUsage): ReportedUsage {
  if (!sum) return usage;
  const reasoningTokens =
    sum.reasoningTokens === undefined && usage.reasoningTokens === undefined
      ? undefined
      : (sum.reasoningTokens ?? 0) + (usage.reasoningTokens ?? 0);
  return {
    promptTokens: sum.promptTokens + usage.promptTokens,
    completionTokens: sum.completionTokens + usage.completionTokens,
    totalTokens: sum.totalTokens + usage.totalTokens,
    ...(reasoningTokens === undefined ? {} : { reasoningTokens }),
  };
}

/** Waits `ms`, or less if `signal` aborts first. */
function sleepUnless(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
