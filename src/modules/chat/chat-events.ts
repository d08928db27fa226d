import type { PalaverPubSub } from '../../pubsub/pubsub';
import type { ChatEventType } from './chat-enums';

/** Per user: changes to their chats, from any device. */
export const CHAT_EVENTS = 'CHAT_EVENTS';

/** Plain JSON-safe data (it may cross Redis); the resolver builds the GraphQL ChatEvent from it. */
export interface ChatEventPayload {
  type: ChatEventType;
  chatId: string;
  messageId?: string;
}

declare module '../../pubsub/pubsub' {
  interface TopicPayloads {
    [CHAT_EVENTS]: [userId: string, payload: ChatEventPayload];
  }
}

/** Tells the owner's devices (chatEvents) what changed; topic per user, so nobody else hears. */
export class ChatEvents {
  constructor(private readonly pubSub: PalaverPubSub) {}

  publish(userId: string, event: ChatEventPayload): void {
    this.pubSub.publish(CHAT_EVENTS, userId, event);
  }

  subscribe(userId: string): AsyncIterableIterator<ChatEventPayload> {
    return this.pubSub.subscribe(CHAT_EVENTS, userId);
  }
}
