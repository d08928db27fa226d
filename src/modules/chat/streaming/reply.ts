import type { Logger } from '../../../log/logger';
import { LlmError, type ReportedUsage } from '../../../llm/model-client';
import { MessageStatus } from '../chat-enums';
import type { MessageRecord, MessageModel } from '../message.model';
import { Coalescer } from './coalescer';
import { PausableTimer } from '../../../util/pausable-timer';
import { ReplyContent } from './reply-content';
import { estimateTokens } from '../../../llm/token-estimate';
import { addUsage, ReplySteps, type ReplyRequest } from './reply-steps';
import type { PartialSaves } from './partial-saves';
import type { ReplyLog } from './reply-log';
import { updateByIdIf } from '../../../db/by-id';
import { ReplyTelemetry, type ReplyWatch } from '../../../telemetry/reply-telemetry';
import { mongo, Types } from 'mongoose';

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

/**
 * One assistant reply being written. The database is never written per token: partial text
 * at most once per `saveIntervalMs` (with every other reply's, see PartialSaves), and once at
 * the end with the final status. Subscribers are
 * fed from the reply's log, so saving never depends on anyone listening.
 */
/** What an image is estimated at, in characters (vision models bill ~1,500 tokens). */
const IMAGE_ESTIMATE_CHARS = 4_500;

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
    /** Its spans and figures (ReplyManager starts it, so that the reply's log carries its trace). */
    private readonly watch: ReplyWatch = new ReplyTelemetry().start(request),
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

  /** Its usage summed over its steps so far (null: none reported). */
  get reportedUsage(): ReportedUsage | null {
    return this.usage;
  }

  /**
   * What the reply used, for counting it: as reported, or, when the provider reported nothing
   * (OpenAI-style streams report usage in their last chunk, which a stopped, failed or
   * interrupted reply never gets), estimated from what was sent and what came back, so that
   * stopping a reply before its end never makes it free.
   */
  get countedUsage(): ReportedUsage {
    if (this.usage) return this.usage;
    const sent = this.request.messages.reduce(
      (chars, message) =>
        chars + message.content.length + (message.images?.length ?? 0) * IMAGE_ESTIMATE_CHARS,
      0,
    );
    const written = JSON.stringify(this.content.stored() ?? this.content.content).length;
    const promptTokens = estimateTokens(sent);
    const completionTokens = estimateTokens(written);
    return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
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
      extra: () => this.content.savedFields(),
    });
    let status = MessageStatus.COMPLETE;
    let error: string | null = null;
    let overDeadline = false;
    const deadline = new PausableTimer(this.options.maxReplyMs, () => {
      overDeadline = true;
      this.controller.abort(new Error('reply over its deadline'));
    });
    try {
      await new ReplySteps(
        this.request,
        this.content,
        this.log,
        this.controller.signal,
        (usage) => (this.usage = addUsage(this.usage, usage)),
        () => this.saveParts(),
        (waiting) => (waiting ? deadline.pause() : deadline.resume()),
        this.watch,
      ).run(text, reasoning);
    } catch (caught) {
      if (this.stopReason) {
        status = this.stopReason === 'stopped' ? MessageStatus.STOPPED : MessageStatus.INTERRUPTED;
      } else if (!overDeadline) {
        status = MessageStatus.FAILED;
        error = caught instanceof LlmError ? caught.message : 'The model failed unexpectedly.';
        if (!(caught instanceof LlmError)) this.logger.error({ err: caught }, 'reply failed');
      }
    } finally {
      deadline.clear();
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
    if (status !== MessageStatus.COMPLETE) {
      for (const ended of this.content.endOpenCalls('The reply ended first.'))
        this.log.appendToolCall(ended);
    }
    const record = this.stopReason === 'deleted' ? null : await this.saveFinal(status, error);
    this.finishLog(record);
    return record;
  }

  /** Saves the parts now (a call that waits for approval is then found by approveToolCall). */
  private async saveParts(): Promise<void> {
    await this.models.Message.collection.updateOne(
      { _id: new Types.ObjectId(this.request.messageId) },
      { $set: { content: this.content.content, ...this.content.savedFields() } },
    );
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
    let whole = true;
    for (let attempt = 1; ; attempt += 1) {
      try {
        // A reply that cannot be saved whole (parts too large or too deep for the store) is
        // saved FAILED with its text, rather than retried for ever.
        const fields = whole
          ? { content: this.content.content, ...this.content.savedFields(), status, error }
          : {
              content: this.content.content,
              status: MessageStatus.FAILED,
              error: 'The reply could not be saved whole.',
            };
        return await updateByIdIf(
          this.models.Message,
          this.request.messageId,
          // Unless another instance may have ended it (a takeover), it is still STREAMING.
          this.log.exclusive ? {} : { status: MessageStatus.STREAMING },
          { $set: { ...fields, usage: this.usage } },
        );
      } catch (caught) {
        const context = { err: caught, messageId: this.request.messageId, attempt };
        if (whole && !isTransient(caught)) {
          this.logger.error(context, 'the final reply cannot be saved whole; saving its text');
          whole = false;
          continue;
        }
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

/** A failure another attempt may cure: the database away or slow, not a refusal of the data. */
function isTransient(error: unknown): boolean {
  return (
    error instanceof mongo.MongoNetworkError ||
    error instanceof mongo.MongoServerSelectionError ||
    error instanceof mongo.MongoNotConnectedError ||
    error instanceof mongo.MongoOperationTimeoutError ||
    (error instanceof Error && /timed out|not connected|ECONN|closed/i.test(error.message))
  );
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
