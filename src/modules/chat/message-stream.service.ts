import { MessageRole, MessageStatus } from './chat-enums';
import { toMessage } from './chat.mappers';
import type { MessageStreamEvent } from './chat.types';
import type { MessageRecord } from './message.model';
import type { MessageService } from './message.service';
import { Channel } from './streaming/channel';
import type { StreamHub } from './streaming/message-stream';

/** A reply streaming in no process here is checked this often until it settles. */
const ORPHAN_POLL_MS = 1_000;

/**
 * messageStream: every delta after `after` (all when absent) from the replay buffer, then the
 * live ones, then one done event with the saved message, then the end. A finished message
 * yields its done event alone.
 */
export class MessageStreamService {
  constructor(
    private readonly messages: MessageService,
    private readonly hub: StreamHub,
  ) {}

  async follow(
    userId: string,
    messageId: string,
    after: number | null | undefined,
  ): Promise<AsyncIterableIterator<MessageStreamEvent>> {
    const afterSeq = Math.max(0, after ?? 0);
    // A stream of this process already proves the owner and holds what a subscriber needs,
    // unless it ended with its chat deleted: then the database answers (NOT_FOUND).
    const known = this.hub.get(messageId);
    const stream = known && known.userId === userId && known.final !== null ? known : undefined;
    const done = (seq: number, record: MessageRecord | null): MessageStreamEvent => ({
      messageId,
      seq,
      delta: '',
      done: true,
      message: record ? toMessage(record) : null,
    });

    if (!stream) {
      const message = await this.messages.getOwned(userId, messageId);
      if (message.role !== MessageRole.ASSISTANT || message.status !== MessageStatus.STREAMING) {
        const channel = new Channel<MessageStreamEvent>();
        channel.push(done(afterSeq + 1, message));
        channel.end();
        return channel;
      }
      return this.pollUntilSettled(userId, message, afterSeq, done);
    }

    let unlisten = () => {};
    const channel = new Channel<MessageStreamEvent>(() => unlisten());
    const listening = stream.listen((event) => {
      if (event.delta) {
        // A client resuming with `after` ahead of the reply (it saw those deltas elsewhere)
        // gets only what comes after it, live deltas included.
        if (event.delta.seq <= afterSeq) return;
        channel.push({
          messageId,
          seq: event.delta.seq,
          delta: event.delta.delta,
          done: false,
          message: null,
        });
      } else {
        channel.push(done(stream.lastSeq + 1, event.final ?? null));
        channel.end();
      }
    }, afterSeq);
    unlisten = listening.unlisten;
    for (const delta of listening.replay) {
      channel.push({ messageId, seq: delta.seq, delta: delta.delta, done: false, message: null });
    }
    if (stream.finished) {
      channel.push(done(stream.lastSeq + 1, stream.final ?? null));
      channel.end();
    }
    return channel;
  }

  private pollUntilSettled(
    userId: string,
    message: MessageRecord,
    afterSeq: number,
    done: (seq: number, record: MessageRecord | null) => MessageStreamEvent,
  ): AsyncIterableIterator<MessageStreamEvent> {
    let timer: NodeJS.Timeout | undefined;
    const channel = new Channel<MessageStreamEvent>(() => clearTimeout(timer));
    const check = async () => {
      const current = await this.messages.getOwned(userId, String(message._id)).catch(() => null);
      if (!current || current.status !== MessageStatus.STREAMING) {
        channel.push(done(afterSeq + 1, current));
        channel.end();
        return;
      }
      timer = setTimeout(() => void check(), ORPHAN_POLL_MS);
    };
    timer = setTimeout(() => void check(), ORPHAN_POLL_MS);
    return channel;
  }
}
