import { Topic, type PalaverPubSub } from '../../pubsub/pubsub';
import type { ChatEventPayload } from '../../pubsub/payloads';

/** Tells the owner's devices (chatEvents) what changed; topic per user, so nobody else hears. */
export class ChatEvents {
  constructor(private readonly pubSub: PalaverPubSub) {}

  publish(userId: string, event: ChatEventPayload): void {
    this.pubSub.publish(Topic.CHAT_EVENTS, userId, event);
  }
}
