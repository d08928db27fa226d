import { setMaxListeners } from 'node:events';
import { createPubSub, type PubSub } from '@graphql-yoga/subscription';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Redis } from 'ioredis';

/**
 * The topics and their payloads, registered by the modules that own them (`declare module`
 * next to each topic's name: chat-events.ts, session-ended.ts), so this layer names none of
 * them. A topic whose tuple starts with an id fans out only to that id's subscribers.
 */
// Empty on purpose: it is filled by declaration merging, which only an interface allows.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface TopicPayloads {}

export type PalaverPubSub = PubSub<{
  [Topic in keyof TopicPayloads]: TopicPayloads[Topic] extends unknown[]
    ? TopicPayloads[Topic]
    : never;
}>;

export interface PubSubHandle {
  pubSub: PalaverPubSub;
  close(): Promise<void>;
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
