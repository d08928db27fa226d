import { setMaxListeners } from 'node:events';
import { createPubSub, type PubSub } from '@graphql-yoga/subscription';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import type { Logger } from '../log/logger';
import type { RedisClients } from '../redis/redis-clients';

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

/** 20 sockets per user × 100 operations per socket, with room to spare. */
const MAX_LISTENERS_PER_TOPIC = 10_000;

/**
 * In-process events, or Redis pub/sub when the instance has Redis so that several instances
 * share them. A publish while Redis is away is logged and dropped, never thrown: the library's
 * event target leaves the publish promise unhandled, which ended the process (exit 1).
 * Events are hints that something changed (a chat list to refresh); what must not be lost
 * (session revocations) does not rely on them alone.
 */
export function createAppPubSub(redis?: RedisClients, logger?: Logger): PalaverPubSub {
  if (!redis) {
    // Every subscription of a user listens on that user's topic: a user with many tabs is not
    // a leak, so Node's warning past 10 listeners is raised to the socket caps' product.
    const eventTarget = new EventTarget();
    setMaxListeners(MAX_LISTENERS_PER_TOPIC, eventTarget);
    return createPubSub({ eventTarget: eventTarget as never }) as PalaverPubSub;
  }
  const shared = createRedisEventTarget({
    publishClient: redis.commands,
    subscribeClient: redis.subscriber,
  });
  const eventTarget: typeof shared = {
    addEventListener: (topic, listener) => shared.addEventListener(topic, listener),
    removeEventListener: (topic, listener) => shared.removeEventListener(topic, listener),
    dispatchEvent: (event) => {
      const detail = (event as CustomEvent).detail as unknown;
      redis.commands
        .publish(event.type, detail === undefined ? '' : JSON.stringify(detail))
        .catch((error: unknown) =>
          logger?.warn({ err: error, topic: event.type }, 'an event was not published'),
        );
      return true;
    },
  };
  return createPubSub({ eventTarget }) as PalaverPubSub;
}
