import { ChatEventType } from './chat-enums';
import type { ChatEventPayload } from './chat-events';
import type { ChatRecord, ChatModel } from './chat.model';
import type { MessageRecord, MessageModel } from './message.model';

export type ChatEventRecords = readonly [ChatRecord | null, MessageRecord | null];

/**
 * The chat and message a chatEvents event names, read once per event however many of the
 * user's subscriptions (tabs, devices on this instance) receive it: the pub/sub hands every
 * subscriber the same payload object. 1,000 subscriptions read 1,000 times before.
 *
 * Reads are by primary key, with the owner checked by the caller: FerretDB scans the
 * collection for any filter beyond `_id` (see SessionService.findLive).
 */
export class ChatEventReader {
  private readonly reads = new WeakMap<ChatEventPayload, Promise<ChatEventRecords>>();

  constructor(private readonly models: { Chat: ChatModel; Message: MessageModel }) {}

  recordsOf(event: ChatEventPayload): Promise<ChatEventRecords> {
    let read = this.reads.get(event);
    if (!read) {
      read = Promise.all([
        event.type === ChatEventType.DELETED
          ? null
          : this.models.Chat.findById(event.chatId).lean<ChatRecord>(),
        event.messageId
          ? this.models.Message.findById(event.messageId).lean<MessageRecord>()
          : null,
      ] as const);
      this.reads.set(event, read);
    }
    return read;
  }
}
