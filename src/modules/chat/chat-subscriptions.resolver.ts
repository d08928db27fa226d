import {
  Arg,
  Authorized,
  Ctx,
  Extensions,
  ID,
  Int,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import { PASS_EVENT_THROUGH } from '../../kernel/field-annotations';
import type { GraphQLContext } from '../../kernel/context';
import { viewerOf } from '../../kernel/viewer';
import type { ChatEventPayload } from '../../pubsub/payloads';
import { Topic, type PalaverPubSub } from '../../pubsub/pubsub';
import { ChatEventType } from './chat-enums';
import { toChat, toMessage } from './chat.mappers';
import { ChatEvent, MessageStreamEvent } from './chat.types';
import type { MessageStreamService } from './message-stream.service';
import type { Models } from '../models';
import type { ChatRecord } from './chat.model';
import type { MessageRecord } from './message.model';

const resolverOf = (context: GraphQLContext) =>
  context.container.get(ChatSubscriptionsResolver) as ChatSubscriptionsResolver;

/**
 * Reads are by primary key with the owner checked here: FerretDB scans the collection for any
 * filter beyond `_id` (see SessionService.findLive).
 */
const ownedBy =
  (userId: string) =>
  <T extends { userId: unknown }>(record: T | null): T | null =>
    record && String(record.userId) === userId ? record : null;

@Resolver()
export class ChatSubscriptionsResolver {
  /**
   * The chat and message an event names, read once per event however many of the user's
   * subscriptions (tabs, devices on this instance) receive it: the pub/sub hands every
   * subscriber the same payload object. 1,000 subscriptions read 1,000 times before.
   */
  private readonly reads = new WeakMap<
    ChatEventPayload,
    Promise<readonly [ChatRecord | null, MessageRecord | null]>
  >();

  private recordsOf(event: ChatEventPayload) {
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

  constructor(
    readonly streams: MessageStreamService,
    readonly pubSub: PalaverPubSub,
    private readonly models: Models,
  ) {}

  @Authorized()
  @Extensions(PASS_EVENT_THROUGH)
  @Subscription(() => MessageStreamEvent, {
    description:
      'The deltas of an assistant reply: those after `after` (all when absent), then live ones, then a done event with the saved message. NOT_FOUND for a message that is not yours.',
    subscribe: ({ args, context }) =>
      resolverOf(context).streams.follow(viewerOf(context).userId, args.messageId, args.after),
  })
  messageStream(
    @Root() event: MessageStreamEvent,
    @Arg('messageId', () => ID) _messageId: string,
    @Arg('after', () => Int, { nullable: true, description: 'The last seq already received.' })
    _after?: number | null,
  ): MessageStreamEvent {
    return event;
  }

  @Authorized()
  @Subscription(() => ChatEvent, {
    description:
      'Changes to your chats from any device: created, updated, deleted, messages added or updated.',
    subscribe: ({ context }) =>
      resolverOf(context).pubSub.subscribe(Topic.CHAT_EVENTS, viewerOf(context).userId),
  })
  async chatEvents(
    @Root() event: ChatEventPayload,
    @Ctx() context: GraphQLContext,
  ): Promise<ChatEvent> {
    const userId = viewerOf(context).userId;
    const [chat, message] = await this.recordsOf(event).then(
      ([chat, message]) => [ownedBy(userId)(chat), ownedBy(userId)(message)] as const,
    );
    return {
      type: event.type as ChatEventType,
      chatId: event.chatId,
      chat: chat ? toChat(chat) : null,
      message: message ? toMessage(message) : null,
    };
  }
}
