import type { Redis } from 'ioredis';
import type { Logger } from '../../../log/logger';
import type { Metrics } from '../../../metrics/metrics';
import { MessageStatus } from '../chat-enums';
import type { MessageRecord } from '../message.model';
import { InProcessReplyLogs } from './in-process-reply-logs';
import { LiveChannels } from './live-channels';
import {
  BATCH_SEPARATOR,
  ENDED_LOG_TTL_MS,
  replyKeys,
  STREAMING_LOG_TTL_MS,
  WRITE_BATCHES_LUA,
  type ReplyBatch,
} from './redis-reply-keys';
import { replyDelta, replyEnd, type ReplyDelta, type ReplyEnd } from './reply-event';
import type { ReplyLog, ReplyLogListener, ReplyLogRead, ReplyLogs } from './reply-log';

/** A follower that has heard nothing for this long reads the log for what it may have missed. */
const SILENCE_CHECK_MS = 1_000;
/** The longest a follower waits for its subscription before reading the log anyway. */
const SUBSCRIBE_WAIT_MS = 2_000;
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
const UNFOLLOWED_WINDOW_MS = 25;

/** Reads a saved reply for a done event (null: gone with its chat). */
export type RecordLoader = (messageId: string) => Promise<MessageRecord | null>;

/**
 * Reply logs shared by the instances of a cluster through Redis. The writer's own process
 * keeps the log in memory too (InProcessReplyLogs), so followers on the writer's instance cost
 * nothing more than with one process; other instances read the Redis Stream and listen on the
 * reply's channel. Pending writes go out in one script call for every reply (see
 * WRITE_BATCHES_LUA), far cheaper than a call per entry (figures: bench/FINDINGS.md, “Behind the code's comments”).
 *
 * Redis away does not stop a reply: it streams to followers on its own instance and is saved
 * as usual; its entries wait in memory and are written once Redis answers, so a follower
 * elsewhere catches up from the log.
 */
export class RedisReplyLogs implements ReplyLogs {
  private readonly local: InProcessReplyLogs;
  private readonly pending = new Map<string, ReplyBatch>();
  /** The replies being written here, and their users. */
  private readonly replies = new Map<string, string>();
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
    private readonly channels: LiveChannels,
    private readonly instanceId: string,
    private readonly loadRecord: RecordLoader,
    private readonly logger: Logger,
    /** A reply this instance no longer owns (swept as its owner looked dead): stop writing it. */
    private readonly onDisowned: (messageId: string) => void,
    private readonly metrics?: Metrics,
    private readonly windowMs = UNFOLLOWED_WINDOW_MS,
  ) {
    this.local = new InProcessReplyLogs(metrics);
    redis.defineCommand('palaverWriteBatches', { numberOfKeys: 1, lua: WRITE_BATCHES_LUA });
    // A follower that arrives elsewhere says so, and the reply is written every turn from then
    // on: otherwise its first entries would wait out the window, until a publish found it.
    this.unsubscribeFollowed = channels.subscribe(replyKeys.followed(instanceId), {
      message: (messageId) => this.markFollowed(messageId),
      reconnected: () => {},
    }).unsubscribe;
  }

  open(messageId: string, userId: string): ReplyLog {
    const local = this.local.open(messageId, userId);
    const epoch = (this.epochs++).toString(36);
    this.replies.set(messageId, userId);
    let seq = 0;
    let finished = false;
    // The meta goes out at once, before any delta: other instances can follow and stop the
    // reply while it waits for its first token, and the database check knows it is alive.
    this.batchOf(messageId, epoch);
    this.scheduleFlush(true);
    return {
      messageId,
      userId,
      // In a cluster another instance may end it (takeover): its final save stays conditional.
      exclusive: false,
      ownerKnown: true,
      append: (text) => {
        local.append(text);
        seq += 1;
        if (this.disowned.has(messageId)) return;
        this.batchOf(messageId, epoch).d.push([seq, text]);
        this.scheduleFlush(this.followedElsewhere.has(messageId));
      },
      finish: (record) => {
        local.finish(record);
        if (finished) return;
        finished = true;
        if (this.disowned.delete(messageId)) return;
        const batch = this.batchOf(messageId, epoch);
        batch.x = seq + 1;
        if (!record) batch.del = 1;
        // Followers here already have the end; only the Redis log waits for the window.
        this.scheduleFlush(this.followedElsewhere.has(messageId));
      },
      read: (afterSeq) => local.read(afterSeq),
      listen: (listener) => local.listen(listener),
    };
  }

  async find(messageId: string): Promise<ReplyLog | undefined> {
    const local = await this.local.find(messageId);
    if (local) return local;
    const [userId, owner] = await this.redis.hmget(replyKeys.meta(messageId), 'userId', 'owner');
    if (!userId) return undefined;
    return new RemoteReplyLog(
      messageId,
      userId,
      owner,
      this.redis,
      this.channels,
      this.loadRecord,
      this.metrics,
    );
  }

  retire(log: ReplyLog): void {
    this.local.retire(log);
  }

  close(): void {
    this.closed = true;
    this.unsubscribeFollowed();
    clearTimeout(this.retryTimer);
    clearTimeout(this.flushTimer);
    this.local.close();
  }

  async stillOwned(messageIds: string[]): Promise<Set<string>> {
    const pipeline = this.redis.pipeline();
    for (const id of messageIds) pipeline.hmget(replyKeys.meta(id), 'owner', 'state');
    const answers = (await pipeline.exec()) ?? [];
    return new Set(
      messageIds.filter((id, index) => {
        if (this.disowned.has(id)) return false;
        const [owner, state] = (answers[index]?.[1] as Array<string | null> | undefined) ?? [];
        // No meta yet (its first batch is on the way) or none any more (Redis flushed: the
        // next batch finds out): still ours until Redis says otherwise.
        return !owner || (owner === this.instanceId && state === 'streaming');
      }),
    );
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
          // Entries added while this call was out are not ours to write either.
          this.pending.delete(batch.id);
          this.onDisowned(batch.id);
        } else if (batch.x) {
          this.written.delete(batch.id);
          this.replies.delete(batch.id);
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

/** A batch as published, parsed (Lua's cjson encodes an empty list as an object). */
function parseBatch(raw: string): ReplyBatch | null {
  try {
    const batch = JSON.parse(raw) as ReplyBatch;
    if (!Array.isArray(batch.d)) batch.d = [];
    return batch;
  } catch {
    return null;
  }
}

/** A Redis Stream entry: [id, [field, value, …]]. */
type StreamEntry = [string, string[]];

/**
 * A reply written by another instance, as a follower here sees it: the log read with XRANGE,
 * the live entries from the reply's channel. One per follower. It hands entries on in seq
 * order and fills any gap from the log: a pub/sub connection killed mid-stream loses
 * messages, and Redis says nothing about it. After its subscriber reconnects, and after a
 * silence, it reads the log for what it may have missed (the end included).
 */
class RemoteReplyLog implements ReplyLog {
  readonly exclusive = false;
  readonly ownerKnown = false;
  private listener: ReplyLogListener | null = null;
  /** Highest seq handed on in order; null until the follower's first read. */
  private delivered: number | null = null;
  /** Live entries that came before the first read, handed on (in order) once it is done. */
  private early: ReplyBatch[] = [];
  private ended = false;
  private filling: Promise<void> | null = null;
  private fillAgain = false;
  private lastHeard = Date.now();
  private subscribed: Promise<void> = Promise.resolve();
  private unsubscribe: () => void = () => {};
  private silenceTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly messageId: string,
    readonly userId: string,
    /** The instance writing the reply, told that it is followed here (null: not known yet). */
    private readonly owner: string | null,
    private readonly redis: Redis,
    private readonly channels: LiveChannels,
    private readonly loadRecord: RecordLoader,
    private readonly metrics?: Metrics,
  ) {}

  append(): void {
    throw new Error('only the instance that writes a reply appends to it');
  }

  finish(): void {
    throw new Error('only the instance that writes a reply finishes it');
  }

  listen(listener: ReplyLogListener): () => void {
    this.listener = listener;
    const { ready, unsubscribe } = this.channels.subscribe(replyKeys.live(this.messageId), {
      message: (raw) => {
        this.lastHeard = Date.now();
        const batch = parseBatch(raw);
        if (!batch) return;
        if (this.delivered === null) this.early.push(batch);
        else this.receive(batch);
      },
      reconnected: () => {
        // A publish that found nobody meanwhile sent the writer back to its window.
        this.announce();
        void this.fill();
      },
    });
    this.subscribed = ready;
    this.unsubscribe = unsubscribe;
    void ready.then(() => this.announce());
    this.silenceTimer = setInterval(() => {
      if (Date.now() - this.lastHeard < SILENCE_CHECK_MS) return;
      // Said again: a notice sent while the owner's subscriber was reconnecting is lost.
      this.announce();
      void this.fill();
    }, SILENCE_CHECK_MS);
    this.silenceTimer.unref();
    return () => this.stop();
  }

  async read(afterSeq: number): Promise<ReplyLogRead> {
    // Listening is confirmed before reading: an entry is then either in the log or on its way.
    // (Not waited for past a few seconds: with Redis away the silence check covers the rest.)
    await Promise.race([this.subscribed, sleep(SUBSCRIBE_WAIT_MS)]);
    const entries = await this.entriesAfter(afterSeq);
    const deltas: ReplyDelta[] = [];
    let done: ReplyEnd | null = null;
    let last = afterSeq;
    for (const [seq, fields] of entries) {
      if (fields[0] === 'd') {
        deltas.push(replyDelta(this.messageId, seq, fields[1] ?? ''));
        last = seq;
      } else {
        done = await this.doneEvent(seq, fields[1] === '1');
        break;
      }
    }
    this.delivered = last;
    if (done) {
      this.ended = true;
      this.stop();
    } else {
      const early = this.early;
      this.early = [];
      for (const batch of early) this.receive(batch);
    }
    return { deltas, done };
  }

  /** Tells the reply's owner that it is followed here (so written every turn); once subscribed. */
  private announce(): void {
    if (!this.owner || this.ended) return;
    this.redis.publish(replyKeys.followed(this.owner), this.messageId).catch(() => {}); // Redis away: the owner learns it from its next publish instead.
  }

  /**
   * Hands on the entries that continue what was handed on; a gap sends for the log. What the
   * log itself lacks (`fromLog`) is lost for good (entries that never reached Redis), so a
   * gap there is stepped over rather than waited for.
   */
  private receive(batch: ReplyBatch, fromLog = false): void {
    if (this.ended) return;
    for (const [seq, text] of batch.d) {
      if (seq <= this.delivered!) continue;
      if (seq !== this.delivered! + 1 && !fromLog) return void this.fill();
      this.delivered = seq;
      this.listener?.(replyDelta(this.messageId, seq, text));
    }
    if (batch.x !== undefined) {
      if (batch.x !== this.delivered! + 1 && !fromLog) return void this.fill();
      this.end(batch.x, batch.del === 1);
    }
  }

  /** Reads the log from the first seq not handed on; one read at a time, again if asked meanwhile. */
  private fill(): Promise<void> {
    if (this.delivered === null || this.ended) return Promise.resolve();
    if (this.filling) {
      this.fillAgain = true;
      return this.filling;
    }
    this.metrics?.gapFills.inc();
    this.filling = (async () => {
      do {
        this.fillAgain = false;
        try {
          const entries = await this.entriesAfter(this.delivered!);
          this.lastHeard = Date.now();
          const batch: ReplyBatch = { id: this.messageId, e: '', d: [] };
          for (const [seq, fields] of entries) {
            if (fields[0] === 'd') batch.d.push([seq, fields[1] ?? '']);
            else {
              batch.x = seq;
              if (fields[1] === '1') batch.del = 1;
            }
          }
          if (entries.length === 0 && !(await this.redis.exists(replyKeys.log(this.messageId)))) {
            await this.endFromDatabase();
          } else this.receive(batch, true);
        } catch {
          // Redis away: the next silence check tries again.
        }
      } while (this.fillAgain && !this.ended);
    })().finally(() => (this.filling = null));
    return this.filling;
  }

  /** The log is gone (Redis flushed, or expired): the database has the last word. */
  private async endFromDatabase(): Promise<void> {
    const record = await this.loadRecord(this.messageId);
    if (record && record.status === MessageStatus.STREAMING) return; // the sweep will end it; keep waiting
    if (this.ended) return;
    this.ended = true;
    this.listener?.(replyEnd(this.messageId, (this.delivered ?? 0) + 1, record));
    this.stop();
  }

  private end(seq: number, deleted: boolean): void {
    this.ended = true;
    void this.doneEvent(seq, deleted).then((done) => {
      this.listener?.(done);
      this.stop();
    });
  }

  private async doneEvent(seq: number, deleted: boolean): Promise<ReplyEnd> {
    const record = deleted ? null : await this.loadRecord(this.messageId).catch(() => null);
    return replyEnd(this.messageId, seq, record);
  }

  private async entriesAfter(seq: number): Promise<Array<[number, string[]]>> {
    const entries = (await this.redis.xrange(
      replyKeys.log(this.messageId),
      `${seq + 1}-0`,
      '+',
    )) as StreamEntry[];
    return entries.map(([id, fields]) => [Number.parseInt(id, 10), fields]);
  }

  private stop(): void {
    clearInterval(this.silenceTimer);
    this.unsubscribe();
    this.unsubscribe = () => {};
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
