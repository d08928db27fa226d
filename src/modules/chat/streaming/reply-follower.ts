import type { Metrics } from '../../../metrics/metrics';
import { MessageRole, MessageStatus } from '../chat-enums';
import { toMessage } from '../chat.mappers';
import type { MessageStreamEvent } from '../chat.types';
import type { MessageRecord } from '../message.model';
import type { MessageService } from '../message.service';
import { Channel } from '../../../util/channel';
import type { ReplyLog, ReplyLogs } from './reply-log';

/** A reply STREAMING with no log yet is looked up again this many times, this far apart. */
const LOG_LOOKUPS = 10;
const LOG_LOOKUP_MS = 50;
/** A reply streaming in no process here is checked this often until it settles. */
const ORPHAN_POLL_MS = 1_000;

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

  async follow(
    userId: string,
    messageId: string,
    after: number | null | undefined,
  ): Promise<AsyncIterableIterator<MessageStreamEvent>> {
    const afterSeq = Math.max(0, after ?? 0);
    // A log written here proves the owner and holds what a follower needs.
    const log = await this.logs.find(messageId);
    if (log?.ownerKnown && log.userId === userId) {
      const followed = await this.followLog(log, afterSeq);
      if (followed) return followed;
    }
    // Anything else is proven by the database (NOT_FOUND for a message that is not theirs):
    // what Redis says of a reply's owner is never taken for it.
    const message = await this.messages.getOwned(userId, messageId);
    if (log && !log.ownerKnown) {
      const followed = await this.followLog(log, afterSeq);
      if (followed) return followed;
    }
    if (message.role === MessageRole.ASSISTANT && message.status === MessageStatus.STREAMING) {
      // In a cluster the writer's first entries reach Redis a round trip after sendMessage
      // answers: a client that subscribes elsewhere at once looks again before polling.
      for (let attempt = 0; attempt < LOG_LOOKUPS; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, LOG_LOOKUP_MS));
        const late = await this.logs.find(messageId);
        if (late) {
          const followed = await this.followLog(late, afterSeq);
          if (followed) return followed;
          break;
        }
      }
      return this.pollUntilSettled(userId, message, afterSeq);
    }
    return ended(doneEvent(messageId, afterSeq + 1, message));
  }

  /**
   * Listens, then reads, then hands on the live events it held meanwhile, each seq once. Null
   * when the reply ended with its chat deleted: the database then answers (NOT_FOUND).
   */
  private async followLog(
    log: ReplyLog,
    afterSeq: number,
  ): Promise<AsyncIterableIterator<MessageStreamEvent> | null> {
    let unlisten = () => {};
    const channel = new Channel<MessageStreamEvent>(() => unlisten());
    let lastSeq = afterSeq;
    let held: MessageStreamEvent[] | null = [];
    const deliver = (event: MessageStreamEvent) => {
      if (event.done) {
        channel.push(event);
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

  private pollUntilSettled(
    userId: string,
    message: MessageRecord,
    afterSeq: number,
  ): AsyncIterableIterator<MessageStreamEvent> {
    let timer: NodeJS.Timeout | undefined;
    const channel = new Channel<MessageStreamEvent>(() => clearTimeout(timer));
    const messageId = String(message._id);
    const check = async () => {
      const current = await this.messages.getOwned(userId, messageId).catch(() => null);
      if (!current || current.status !== MessageStatus.STREAMING) {
        channel.push(doneEvent(messageId, afterSeq + 1, current));
        channel.end();
        return;
      }
      timer = setTimeout(() => void check(), ORPHAN_POLL_MS);
    };
    timer = setTimeout(() => void check(), ORPHAN_POLL_MS);
    return channel;
  }
}

function doneEvent(
  messageId: string,
  seq: number,
  record: MessageRecord | null,
): MessageStreamEvent {
  return { messageId, seq, delta: '', done: true, message: record ? toMessage(record) : null };
}

/** An iteration of one event. */
function ended(event: MessageStreamEvent): AsyncIterableIterator<MessageStreamEvent> {
  const channel = new Channel<MessageStreamEvent>();
  channel.push(event);
  channel.end();
  return channel;
}
