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
import { PASS_EVENT_THROUGH } from '../../graphql/schema';
import type { GraphQLContext } from '../../graphql/context';
import { viewerOf } from '../../graphql/viewer';
import type { ChatEventPayload } from '../../pubsub/payloads';
import { Topic, type PalaverPubSub } from '../../pubsub/pubsub';
import { ChatEventType } from './chat-enums';
import { toChat, toMessage } from './chat.mappers';
import { ChatEvent, MessageStreamEvent } from './chat.types';
import type { MessageStreamService } from './message-stream.service';
import type { Models } from '../../db/models';

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
    const [chat, message] = await Promise.all([
      event.type === ChatEventType.DELETED
        ? null
        : this.models.Chat.findById(event.chatId).lean().then(ownedBy(userId)),
      event.messageId
        ? this.models.Message.findById(event.messageId).lean().then(ownedBy(userId))
        : null,
    ]);
    return {
      type: event.type as ChatEventType,
      chatId: event.chatId,
      chat: chat ? toChat(chat) : null,
      message: message ? toMessage(message) : null,
    };
  }
}
