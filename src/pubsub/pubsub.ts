import { setMaxListeners } from 'node:events';
import { createPubSub, type PubSub } from '@graphql-yoga/subscription';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Redis } from 'ioredis';
import type { ChatEventPayload, SessionEndedPayload } from './payloads';

/** Topics and their payloads; a topic with an id fans out only to that id's subscribers. */
export const Topic = {
  /** Per user: changes to their chats, from any device. */
  CHAT_EVENTS: 'CHAT_EVENTS',
  /** Sessions that ended, so every instance closes their sockets. */
  SESSION_ENDED: 'SESSION_ENDED',
} as const;

export type PalaverPubSub = PubSub<{
  [Topic.CHAT_EVENTS]: [userId: string, payload: ChatEventPayload];
  [Topic.SESSION_ENDED]: [payload: SessionEndedPayload];
}>;

export interface PubSubHandle {
  pubSub: PalaverPubSub;
  close(): Promise<void>;
}

/**
 * Runs `handle` for every ended session, from this instance or another, until the returned
 * function is called; a failure of the loop itself goes to `onError`.
 */
export function onSessionEnded(
  pubSub: PalaverPubSub,
  handle: (ended: SessionEndedPayload) => void,
  onError: (error: unknown) => void,
): () => Promise<void> {
  const events = pubSub.subscribe(Topic.SESSION_ENDED);
  void (async () => {
    for await (const ended of events) handle(ended);
  })().catch(onError);
  return async () => {
    await events.return?.();
  };
}

/** 20 sockets per user × 100 operations per socket, with room to spare. */
const MAX_LISTENERS_PER_TOPIC = 10_000;

/** In-process events, or Redis when `REDIS_URL` is set so several instances share them. */
export function createAppPubSub(redisUrl?: string): PubSubHandle {
  if (!redisUrl) {
    // Every subscription of a user listens on that user's topic: a user with many tabs is not
    // a leak, so Node's warning past 10 listeners is raised to the socket caps' product.
    const eventTarget = new EventTarget();
    setMaxListeners(MAX_LISTENERS_PER_TOPIC, eventTarget);
    return {
      pubSub: createPubSub({ eventTarget: eventTarget as never }) as PalaverPubSub,
      close: async () => {},
    };
  }
  const publishClient = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3 });
  const subscribeClient = new Redis(redisUrl, { lazyConnect: false });
  const eventTarget = createRedisEventTarget({ publishClient, subscribeClient });
  return {
    pubSub: createPubSub({ eventTarget }) as PalaverPubSub,
    close: async () => {
      publishClient.disconnect();
      subscribeClient.disconnect();
    },
  };
}
