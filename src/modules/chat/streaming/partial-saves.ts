import { Types } from 'mongoose';
import type { MessageModel } from '../message.model';
import type { Logger } from '../../../log/logger';

const BATCH_LIMIT = 50;

/**
 * A reply as partial saves see it: how much it changed, at once (it only grows), and its text
 * and other fields (parts, reasoning) when it is saved.
 */
export interface ReplyText {
  length(): number;
  text(): string;
  /** Fields saved beside `content`, or null when the text says it all. */
  extra?(): Record<string, unknown> | null;
}
/** Waiting 3× a batch's time after it keeps partial saves to ≤ 25% of the database's time. */
const MAX_DUTY_WAIT_FACTOR = 3;
/** mongoose's readyState of an open connection. */
const CONNECTED = 1;

/**
 * The partial text of every reply being written, saved together: once per interval, one
 * `bulkWrite` carries every reply whose text changed, instead of one command per reply. With
 * 200 replies streaming that is 1 command a second instead of 200, each of which costs the
 * server CPU in the driver (figures: bench/FINDINGS.md, “Behind the code's comments”). At most one
 * batch is in flight, and partial saves take at most a quarter of the database's time: after
 * a batch that took T, the next waits at least 3T. On MongoDB T is a few milliseconds and the
 * interval rules; on FerretDB, whose updates scan the collection, 1,000 streams would otherwise keep its one connection busy with nothing else.
 * Skipped rounds lose nothing: the next batch carries the latest text, the final save all.
 */
export class PartialSaves {
  /** Each reply's text, and how much of it is saved (a reply's text only grows). */
  private readonly sources = new Map<string, { text: ReplyText; savedLength: number }>();
  private inFlight: Promise<void> | null = null;
  private nextBatchAt = 0;
  /** The last batch failed (logged once per outage). */
  private failing = false;
  /** Counts the connection's losses, so a batch can tell it spanned one. */
  private disconnects = 0;
  private readonly onDisconnected = () => (this.disconnects += 1);
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly models: { Message: MessageModel },
    intervalMs: number,
    private readonly logger: Logger,
    /** The replies this instance may still write (in a cluster, not one taken over). */
    private readonly stillOwned: (messageIds: string[]) => Promise<Set<string>> = (ids) =>
      Promise.resolve(new Set(ids)),
  ) {
    this.timer = setInterval(() => this.flush(), intervalMs);
    this.timer.unref();
    this.models.Message.db.on('disconnected', this.onDisconnected);
  }

  /** The reply's text is read only when its batch is sent; its length decides whether it is. */
  track(messageId: string, text: ReplyText): void {
    this.sources.set(messageId, { text, savedLength: text.length() });
  }

  /**
   * Stops saving `messageId`, and waits for a batch already sent, so that the caller's final
   * save lands after (and over) any partial one.
   */
  async untrack(messageId: string): Promise<void> {
    this.sources.delete(messageId);
    await this.inFlight;
  }

  private flush(): void {
    if (this.inFlight || performance.now() < this.nextBatchAt) return;
    const changed: string[] = [];
    for (const [messageId, source] of this.sources) {
      if (source.text.length() !== source.savedLength) changed.push(messageId);
    }
    if (changed.length === 0) return;
    const started = performance.now();
    const disconnectsBefore = this.disconnects;
    // A batch sent while the connection is down waits for a server before any work starts.
    const connectedAtStart = this.models.Message.db.readyState === CONNECTED;
    this.inFlight = this.write(changed)
      .then(() => {
        // A batch that waited out a lost connection (sent while it was down, or losing it on
        // the way) measured the outage, not the database's work: it sets no wait, so saves
        // resume on the next interval (figures: bench/FINDINGS.md, “Behind the code's comments”).
        if (connectedAtStart && this.disconnects === disconnectsBefore) {
          this.nextBatchAt =
            performance.now() + MAX_DUTY_WAIT_FACTOR * (performance.now() - started);
        }
        if (this.failing) this.logger.info('partial replies are saved again');
        this.failing = false;
      })
      .catch((error: unknown) => {
        // A failed batch measured the driver's wait for a server, not work the database did:
        // the next interval tries again, so saves resume as soon as the database is back.
        if (!this.failing) {
          this.logger.warn({ err: error }, 'saving partial replies failed; final saves carry them');
        }
        this.failing = true;
      })
      .finally(() => {
        this.inFlight = null;
      });
  }

  /**
   * In commands of at most BATCH_LIMIT updates: FerretDB 1.24 never answers a bulk write of
   * 100 updates or more (figures: bench/FINDINGS.md, “Behind the code's comments”). Each command's texts are
   * joined just before it goes, so the work of a round is spread over its commands rather than
   * held in one turn (a stall there delays every token that arrives meanwhile).
   */
  private async write(all: string[]): Promise<void> {
    // Redis away: this instance keeps saving what it writes (nobody can take it over then).
    const owned = await this.stillOwned(all).catch(() => null);
    const changed = owned ? all.filter((messageId) => owned.has(messageId)) : all;
    for (let start = 0; start < changed.length; start += BATCH_LIMIT) {
      const batch = changed
        .slice(start, start + BATCH_LIMIT)
        .map((messageId) => ({ messageId, source: this.sources.get(messageId) }))
        .filter((entry) => entry.source !== undefined)
        .map(({ messageId, source }) => ({
          messageId,
          source: source!,
          length: source!.text.length(),
          fields: { content: source!.text.text(), ...source!.text.extra?.() },
        }));
      if (batch.length === 0) continue;
      // The driver's collection, not the model: these ids and strings are ours, and mongoose's
      // casting of every update was a visible share of a streaming server's CPU.
      await this.models.Message.collection.bulkWrite(
        // By _id alone: on FerretDB any other condition makes each update scan the collection.
        // The final save waits for this batch (untrack), so it can never be overwritten.
        batch.map(({ messageId, fields }) => ({
          updateOne: {
            filter: { _id: new Types.ObjectId(messageId) },
            update: { $set: fields },
          },
        })),
        { ordered: false },
      );
      for (const { source, length } of batch) source.savedLength = length;
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.models.Message.db.off('disconnected', this.onDisconnected);
    this.sources.clear();
  }
}
