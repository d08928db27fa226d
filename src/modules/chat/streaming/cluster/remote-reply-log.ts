import type { Redis } from 'ioredis';
import type { Metrics } from '../../../../metrics/metrics';
import { MessageStatus } from '../../chat-enums';
import type { MessageRecord } from '../../message.model';
import { deltaOfEntry, replyDelta, replyEnd, type ReplyDelta, type ReplyEnd } from '../reply-event';
import type { ReplyLog, ReplyLogListener, ReplyLogRead } from '../reply-log';
import type { LiveChannels } from './live-channels';
import { parseBatch, type ReplyBatch } from './reply-batch';
import { replyKeys } from './redis-reply-keys';

/** A follower that has heard nothing for this long reads the log for what it may have missed. */
const SILENCE_CHECK_MS = 1_000;
/** The longest a follower waits for its subscription before reading the log anyway. */
const SUBSCRIBE_WAIT_MS = 2_000;

/** Reads a saved reply for a done event (null: gone with its chat). */
export type RecordLoader = (messageId: string) => Promise<MessageRecord | null>;

/** A Redis Stream entry: [id, [field, value, …]]. */
type StreamEntry = [string, string[]];

/**
 * A reply written by another instance, as a follower here sees it: the log read with XRANGE,
 * the live entries from the reply's channel. One per follower. It hands entries on in seq
 * order and fills any gap from the log: a pub/sub connection killed mid-stream loses
 * messages, and Redis says nothing about it. After its subscriber reconnects, and after a
 * silence, it reads the log for what it may have missed (the end included).
 */
export class RemoteReplyLog implements ReplyLog {
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

  appendReasoning(): void {
    this.append();
  }

  appendToolCall(): void {
    this.append();
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
      if (fields[0] === 'd' || fields[0] === 'r' || fields[0] === 't') {
        const delta = deltaOfEntry(this.messageId, seq, fields[0], fields[1] ?? '');
        if (delta) deltas.push(delta);
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
    for (const [seq, text, kind] of batch.d) {
      if (seq <= this.delivered!) continue;
      if (seq !== this.delivered! + 1 && !fromLog) return void this.fill();
      this.delivered = seq;
      if (!this.listener) continue;
      const delta = kind
        ? deltaOfEntry(this.messageId, seq, kind, text)
        : replyDelta(this.messageId, seq, text);
      if (delta) this.listener(delta);
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
            else if (fields[0] === 'r' || fields[0] === 't')
              batch.d.push([seq, fields[1] ?? '', fields[0]]);
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
