import type { Metrics } from '../../../metrics/metrics';
import { MessageRole, MessageStatus } from '../chat-enums';
import type { MessageRecord } from '../message.model';
import type { MessageService } from '../message.service';
import { Channel } from '../../../util/channel';
import { replyEnd, type ReplyDelta, type ReplyEnd, type ReplyEvent } from './reply-event';
import type { ReplyLog, ReplyLogs } from './reply-log';

/** A reply STREAMING with no log yet is looked up again this many times, this far apart. */
const LOG_LOOKUPS = 10;
const LOG_LOOKUP_MS = 50;
/** A reply streaming in no process here is checked this often until it settles. */
const ORPHAN_POLL_MS = 1_000;

/**
 * The shape in which a follower hands on a reply's end (GraphQL's, given by the subscription
 * resolver). Called once per follower, in the branch that already tells the end from a delta:
 * deltas go out as they are, at no cost per token.
 */
export type PresentEnd<End> = (end: ReplyEnd) => End;

const asItIs: PresentEnd<ReplyEnd> = (end) => end;

/**
 * messageStream: every delta after `after` (all when absent) from the reply's log, then the
 * live ones, then one done event with the saved message, then the end. A finished message
 * yields its done event alone.
 */
export class ReplyFollower {
  constructor(
    private readonly messages: MessageService,
    private readonly logs: ReplyLogs,
    private readonly metrics?: Metrics,
  ) {}

  /** The reply's events; the end as the pipeline's ReplyEnd unless `present` shapes it. */
  follow(
    userId: string,
    messageId: string,
    after: number | null | undefined,
  ): Promise<AsyncIterableIterator<ReplyEvent>>;
  follow<End>(
    userId: string,
    messageId: string,
    after: number | null | undefined,
    present: PresentEnd<End>,
  ): Promise<AsyncIterableIterator<ReplyDelta | End>>;
  async follow<End>(
    userId: string,
    messageId: string,
    after: number | null | undefined,
    present: PresentEnd<End | ReplyEnd> = asItIs,
  ): Promise<AsyncIterableIterator<ReplyDelta | End | ReplyEnd>> {
    const afterSeq = Math.max(0, after ?? 0);
    // A log written here proves the owner and holds what a follower needs.
    const log = await this.logs.find(messageId);
    if (log?.ownerKnown && log.userId === userId) {
      const followed = await this.followLog(log, afterSeq, present);
      if (followed) return followed;
    }
    // Anything else is proven by the database (NOT_FOUND for a message that is not theirs):
    // what Redis says of a reply's owner is never taken for it.
    const message = await this.messages.getOwned(userId, messageId);
    if (log && !log.ownerKnown) {
      const followed = await this.followLog(log, afterSeq, present);
      if (followed) return followed;
    }
    if (message.role === MessageRole.ASSISTANT && message.status === MessageStatus.STREAMING) {
      // In a cluster the writer's first entries reach Redis a round trip after sendMessage
      // answers: a client that subscribes elsewhere at once looks again before polling.
      for (let attempt = 0; attempt < LOG_LOOKUPS; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, LOG_LOOKUP_MS));
        const late = await this.logs.find(messageId);
        if (late) {
          const followed = await this.followLog(late, afterSeq, present);
          if (followed) return followed;
          break;
        }
      }
      return this.pollUntilSettled(userId, message, afterSeq, present);
    }
    return ended(present(replyEnd(messageId, afterSeq + 1, message)));
  }

  /**
   * Listens, then reads, then hands on the live events it held meanwhile, each seq once. Null
   * when the reply ended with its chat deleted: the database then answers (NOT_FOUND).
   */
  private async followLog<End>(
    log: ReplyLog,
    afterSeq: number,
    present: PresentEnd<End>,
  ): Promise<AsyncIterableIterator<ReplyDelta | End> | null> {
    let unlisten = () => {};
    const channel = new Channel<ReplyDelta | End>(() => unlisten());
    let lastSeq = afterSeq;
    let held: ReplyEvent[] | null = [];
    const deliver = (event: ReplyEvent) => {
      if (event.done) {
        channel.push(present(event));
        channel.end();
        return;
      }
      // A client resuming with `after` ahead of the reply (it saw those deltas elsewhere)
      // gets only what comes after it, live deltas included.
      if (event.seq <= lastSeq) return;
      lastSeq = event.seq;
      channel.push(event);
    };
    unlisten = log.listen((event) => (held ? held.push(event) : deliver(event)));
    const read = await log.read(afterSeq);
    if (read.done && read.done.message === null) {
      unlisten();
      return null;
    }
    this.metrics?.deltasReplayed.inc(read.deltas.length);
    for (const event of read.deltas) deliver(event);
    const live = held;
    held = null;
    for (const event of live) deliver(event);
    if (read.done) deliver(read.done);
    return channel;
  }

  private pollUntilSettled<End>(
    userId: string,
    message: MessageRecord,
    afterSeq: number,
    present: PresentEnd<End>,
  ): AsyncIterableIterator<End> {
    let timer: NodeJS.Timeout | undefined;
    const channel = new Channel<End>(() => clearTimeout(timer));
    const messageId = String(message._id);
    const check = async () => {
      const current = await this.messages.getOwned(userId, messageId).catch(() => null);
      if (!current || current.status !== MessageStatus.STREAMING) {
        channel.push(present(replyEnd(messageId, afterSeq + 1, current)));
        channel.end();
        return;
      }
      timer = setTimeout(() => void check(), ORPHAN_POLL_MS);
    };
    timer = setTimeout(() => void check(), ORPHAN_POLL_MS);
    return channel;
  }
}

/** An iteration of one event. */
function ended<End>(event: End): AsyncIterableIterator<End> {
  const channel = new Channel<End>();
  channel.push(event);
  channel.end();
  return channel;
}
