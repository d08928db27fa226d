import type { Redis } from 'ioredis';
import type { Logger } from '../../../../log/logger';
import type { LiveChannels } from './live-channels';
import { BATCH_SEPARATOR, type ReplyBatch } from './reply-batch';
import { ENDED_LOG_TTL_MS, replyKeys, STREAMING_LOG_TTL_MS } from './redis-reply-keys';
import { WRITE_BATCHES_LUA } from './reply-scripts';

/** Batches that failed to reach Redis are tried again after this. */
const WRITE_RETRY_MS = 500;
/**
 * The entries of replies that nobody follows on another instance, and their ends, are gathered
 * over this long (a call at most this often; the first after a quiet spell goes at once). Their
 * followers here read the process's own log, so only the Redis log lags, by this much at most:
 * a crash loses at most this much of such a reply (a follower that arrives from elsewhere
 * subscribes first, so the next publish brings it the rest). A reply whose last publish reached
 * a follower elsewhere is written every turn. Each call costs the writer about the same whatever
 * it carries (most of it the socket's write, wake-up and read), so the window sets the cost:
 * the windows tried with `npm run bench -- --only cluster` and what each cost are in
 * bench/FINDINGS.md ("Behind the code's comments").
 */
export const UNFOLLOWED_WINDOW_MS = 25;

/** One reply as its writer hands its entries to the batches. */
export interface ReplyWriting {
  /** A delta, by seq (skipped once another instance has taken the reply); no kind: answer text. */
  append(seq: number, text: string, kind?: 'r' | 't'): void;
  /** The end entry, at `seq`; `deleted` when the reply ended with its chat. */
  end(seq: number, deleted: boolean): void;
}

/**
 * Gathers the entries of every reply written here into batches, one per reply, and writes them
 * all in one script call (WRITE_BATCHES_LUA), far cheaper than a call per entry (figures:
 * bench/FINDINGS.md, “Behind the code's comments”): at the end of the turn for a reply followed
 * on another instance, after the window (UNFOLLOWED_WINDOW_MS) for the others. Redis away, the
 * batches wait in memory and are tried again, in order.
 */
export class ReplyBatchWriter {
  private readonly pending = new Map<string, ReplyBatch>();
  /** The replies being written here, and their users. */
  private readonly replies = new Map<string, string>();
  /** The replies' spans (`traceparent`), written with their meta. */
  private readonly traces = new Map<string, string>();
  /** Epochs are unique per instance (the owner is checked with them): a counter is enough. */
  private epochs = 0;
  /** Replies with a batch in Redis: later batches need not create their meta. */
  private readonly written = new Set<string>();
  /** Replies another instance has ended: their later entries are not sent. */
  private readonly disowned = new Set<string>();
  /** Replies whose last publish reached a follower on another instance: written every turn. */
  private readonly followedElsewhere = new Set<string>();
  private flushScheduled = false;
  /** The flush waiting out the window, while only unfollowed replies have entries pending. */
  private flushTimer: NodeJS.Timeout | undefined;
  private lastFlushAt = 0;
  /** One script call at a time: a later batch must never land before an earlier one's retry. */
  private inFlight: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private lastWriteErrorLog = 0;
  private readonly unsubscribeFollowed: () => void;

  constructor(
    private readonly redis: Redis,
    channels: LiveChannels,
    private readonly instanceId: string,
    private readonly logger: Logger,
    /** A reply this instance no longer owns (swept as its owner looked dead): stop writing it. */
    private readonly onDisowned: (messageId: string) => void,
    private readonly windowMs = UNFOLLOWED_WINDOW_MS,
  ) {
    redis.defineCommand('palaverWriteBatches', { numberOfKeys: 1, lua: WRITE_BATCHES_LUA });
    // A follower that arrives elsewhere says so, and the reply is written every turn from then
    // on: otherwise its first entries would wait out the window, until a publish found it.
    this.unsubscribeFollowed = channels.subscribe(replyKeys.followed(instanceId), {
      message: (messageId) => this.markFollowed(messageId),
      reconnected: () => {},
    }).unsubscribe;
  }

  /**
   * Starts writing a reply. Its meta goes out at once, before any delta: other instances can
   * follow and stop the reply while it waits for its first token, and the database check knows
   * it is alive.
   */
  begin(messageId: string, userId: string, traceparent?: string): ReplyWriting {
    const epoch = (this.epochs++).toString(36);
    this.replies.set(messageId, userId);
    if (traceparent) this.traces.set(messageId, traceparent);
    this.batchOf(messageId, epoch);
    this.scheduleFlush(true);
    return {
      append: (seq, text, kind) => {
        if (this.disowned.has(messageId)) return;
        this.batchOf(messageId, epoch).d.push(kind ? [seq, text, kind] : [seq, text]);
        this.scheduleFlush(this.followedElsewhere.has(messageId));
      },
      end: (seq, deleted) => {
        if (this.disowned.delete(messageId)) return;
        const batch = this.batchOf(messageId, epoch);
        batch.x = seq;
        if (deleted) batch.del = 1;
        // Followers here already have the end; only the Redis log waits for the window.
        this.scheduleFlush(this.followedElsewhere.has(messageId));
      },
    };
  }

  /** Whether another instance has taken this reply over (its entries are no longer sent). */
  disowns(messageId: string): boolean {
    return this.disowned.has(messageId);
  }

  /** Writes what is pending now (shutdown waits for the last batches). */
  async flush(): Promise<void> {
    this.flushScheduled = false;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.lastFlushAt = performance.now();
    while (this.inFlight) await this.inFlight;
    if (this.pending.size === 0) return;
    this.inFlight = this.write().finally(() => (this.inFlight = null));
    await this.inFlight;
  }

  close(): void {
    this.closed = true;
    this.unsubscribeFollowed();
    clearTimeout(this.retryTimer);
    clearTimeout(this.flushTimer);
  }

  private async write(): Promise<void> {
    // A reply disowned while its next batch waited has nothing more to write.
    const batches = [...this.pending.values()].filter((batch) => this.replies.has(batch.id));
    this.pending.clear();
    if (batches.length === 0) return;
    let joined = '';
    for (const batch of batches) {
      // Only a batch that may have to create the meta carries the user.
      if (!this.written.has(batch.id)) {
        batch.o = 1;
        batch.u = this.replies.get(batch.id);
        const traceparent = this.traces.get(batch.id);
        if (traceparent) batch.tp = traceparent;
      }
      joined += (joined ? BATCH_SEPARATOR : '') + JSON.stringify(batch);
    }
    try {
      const results = (await (
        this.redis as unknown as {
          palaverWriteBatches(...args: Array<string | number>): Promise<string>;
        }
      ).palaverWriteBatches(
        replyKeys.streaming,
        this.instanceId,
        STREAMING_LOG_TTL_MS,
        ENDED_LOG_TTL_MS,
        joined,
      )) as string;
      batches.forEach((batch, index) => {
        const result = results.charCodeAt(index) - 48; // '0' … '2'
        if (result === 2) this.followedElsewhere.add(batch.id);
        else this.followedElsewhere.delete(batch.id);
        if (result === 0) {
          // Another instance ended it (the sweep took this instance for dead): stop here too.
          this.disowned.add(batch.id);
          this.written.delete(batch.id);
          this.replies.delete(batch.id);
          this.traces.delete(batch.id);
          // Entries added while this call was out are not ours to write either.
          this.pending.delete(batch.id);
          this.onDisowned(batch.id);
        } else if (batch.x) {
          this.written.delete(batch.id);
          this.replies.delete(batch.id);
          this.traces.delete(batch.id);
          this.followedElsewhere.delete(batch.id);
        } else this.written.add(batch.id);
      });
    } catch (error) {
      this.requeue(batches);
      if (Date.now() - this.lastWriteErrorLog > 10_000) {
        this.lastWriteErrorLog = Date.now();
        this.logger.warn({ err: error }, 'reply entries not written to redis yet; retrying');
      }
    }
  }

  private batchOf(id: string, epoch: string): ReplyBatch {
    let batch = this.pending.get(id);
    if (!batch) {
      batch = { id, e: epoch, d: [] };
      this.pending.set(id, batch);
    }
    return batch;
  }

  /**
   * `urgent`: a reply's start, or an entry of a reply followed on another instance, goes out at
   * the end of this turn; other entries wait for the window (UNFOLLOWED_WINDOW_MS).
   */
  private scheduleFlush(urgent: boolean): void {
    if (this.closed) return;
    if (this.flushScheduled) {
      if (!urgent || !this.flushTimer) return;
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      setImmediate(() => void this.flush());
      return;
    }
    this.flushScheduled = true;
    const wait = urgent ? 0 : this.lastFlushAt + this.windowMs - performance.now();
    if (wait <= 0) setImmediate(() => void this.flush());
    else this.flushTimer = setTimeout(() => void this.flush(), wait);
  }

  /** A follower on another instance has subscribed to one of the replies written here. */
  private markFollowed(messageId: string): void {
    if (!this.replies.has(messageId) || this.followedElsewhere.has(messageId)) return;
    this.followedElsewhere.add(messageId);
    if (this.pending.has(messageId)) this.scheduleFlush(true);
  }

  /** Failed batches go back in front of what came since, so the log keeps its order. */
  private requeue(batches: ReplyBatch[]): void {
    for (const failed of batches) {
      const newer = this.pending.get(failed.id);
      if (newer) {
        failed.d.push(...newer.d);
        failed.x = newer.x ?? failed.x;
        failed.del = newer.del ?? failed.del;
      }
      delete failed.o;
      this.pending.set(failed.id, failed);
    }
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.flush(), WRITE_RETRY_MS);
    this.retryTimer.unref();
  }
}
