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
import { PASS_EVENT_THROUGH } from '../../graphql/field-annotations';
import type { GraphQLContext } from '../../graphql/context';
import { viewerOf } from '../../graphql/viewer';
import type { ChatEventPayload, ChatEvents } from './chat-events';
import { toChat, toMessage } from './chat.mappers';
import { ChatEvent, MessageStreamEvent } from './chat.types';
import type { ReplyFollower } from './streaming/reply-follower';
import type { ChatEventReader } from './chat-event-reader';

const resolverOf = (context: GraphQLContext) =>
  context.container.get(ChatSubscriptionsResolver) as ChatSubscriptionsResolver;

/** A record of someone else is not in their event. */
const ownedBy =
  (userId: string) =>
  <T extends { userId: unknown }>(record: T | null): T | null =>
    record && String(record.userId) === userId ? record : null;

@Resolver()
export class ChatSubscriptionsResolver {
  constructor(
    readonly replies: ReplyFollower,
    readonly events: ChatEvents,
    private readonly records: ChatEventReader,
  ) {}

  @Authorized()
  @Extensions(PASS_EVENT_THROUGH)
  @Subscription(() => MessageStreamEvent, {
    description:
      'The deltas of an assistant reply: those after `after` (all when absent), then live ones, then a done event with the saved message. NOT_FOUND for a message that is not yours.',
    subscribe: ({ args, context }) =>
      resolverOf(context).replies.follow(viewerOf(context).userId, args.messageId, args.after),
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
    subscribe: ({ context }) => resolverOf(context).events.subscribe(viewerOf(context).userId),
  })
  async chatEvents(
    @Root() event: ChatEventPayload,
    @Ctx() context: GraphQLContext,
  ): Promise<ChatEvent> {
    const userId = viewerOf(context).userId;
    const [chat, message] = await this.records
      .recordsOf(event)
      .then(([chat, message]) => [ownedBy(userId)(chat), ownedBy(userId)(message)] as const);
    return {
      type: event.type,
      chatId: event.chatId,
      chat: chat ? toChat(chat) : null,
      message: message ? toMessage(message) : null,
    };
  }
}
