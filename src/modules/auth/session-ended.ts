import type { PalaverPubSub } from '../../pubsub/pubsub';

/** Sessions that ended, so every instance forgets them and closes their sockets. */
export const SESSION_ENDED = 'SESSION_ENDED';

export interface SessionEndedPayload {
  userId: string;
  /** null: every session of the user ended, except `exceptSessionId` when given. */
  sessionId: string | null;
  exceptSessionId?: string;
}

declare module '../../pubsub/pubsub' {
  interface TopicPayloads {
    [SESSION_ENDED]: [payload: SessionEndedPayload];
  }
}

export function announceSessionEnded(pubSub: PalaverPubSub, payload: SessionEndedPayload): void {
  pubSub.publish(SESSION_ENDED, payload);
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
  const events = pubSub.subscribe(SESSION_ENDED);
  void (async () => {
    for await (const ended of events) handle(ended);
  })().catch(onError);
  return async () => {
    await events.return?.();
  };
}
