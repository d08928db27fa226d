import type { Redis } from 'ioredis';
import type { Logger } from '../../log/logger';
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

/** How every instance hears of every ended session. */
export interface SessionEndedFeed {
  announce(payload: SessionEndedPayload): void;
  /**
   * Runs `handle` for every ended session, from this instance or another, until the returned
   * function is called; a failure of the feed itself goes to `onError`.
   */
  subscribe(
    handle: (ended: SessionEndedPayload) => void,
    onError: (error: unknown) => void,
  ): () => Promise<void>;
  close(): void;
}

/** One process: the in-process pub/sub. */
export class PubSubSessionEndedFeed implements SessionEndedFeed {
  constructor(private readonly pubSub: PalaverPubSub) {}

  announce(payload: SessionEndedPayload): void {
    this.pubSub.publish(SESSION_ENDED, payload);
  }

  subscribe(
    handle: (ended: SessionEndedPayload) => void,
    onError: (error: unknown) => void,
  ): () => Promise<void> {
    const events = this.pubSub.subscribe(SESSION_ENDED);
    void (async () => {
      for await (const ended of events) handle(ended);
    })().catch(onError);
    return async () => {
      await events.return?.();
    };
  }

  close(): void {}
}

const STREAM = 'palaver:sessions:ended';
/** Entries kept: far more than are announced while an instance reconnects. */
const STREAM_LENGTH = 10_000;
const BLOCK_MS = 5_000;

/**
 * A cluster: a Redis Stream every instance tails from the last entry it read. Pub/sub would
 * drop what is announced while an instance's subscriber reconnects, and a missed revocation
 * leaves that session's sockets open; a stream read from the last id loses nothing (the tail
 * picks up where it was once Redis answers). Tailing needs a connection of its own, since
 * XREAD BLOCK holds it.
 */
export class RedisSessionEndedFeed implements SessionEndedFeed {
  private readonly handlers = new Set<(ended: SessionEndedPayload) => void>();
  private lastId = '$';
  private running = true;

  constructor(
    private readonly commands: Redis,
    private readonly blocking: Redis,
    private readonly logger: Logger,
  ) {
    void this.tail();
  }

  announce(payload: SessionEndedPayload): void {
    // Forgotten on this instance already (the caller did); the others hear it from the stream.
    this.commands
      .xadd(STREAM, 'MAXLEN', '~', STREAM_LENGTH, '*', 'p', JSON.stringify(payload))
      .catch((error: unknown) => {
        this.logger.error({ err: error }, 'an ended session could not be announced to the cluster');
      });
  }

  subscribe(handle: (ended: SessionEndedPayload) => void): () => Promise<void> {
    this.handlers.add(handle);
    return () => {
      this.handlers.delete(handle);
      return Promise.resolve();
    };
  }

  close(): void {
    this.running = false;
    this.blocking.disconnect();
  }

  private async tail(): Promise<void> {
    let lastLogged = 0;
    while (this.running) {
      try {
        // The first read asks for the last id so that later reads never skip an entry.
        if (this.lastId === '$') {
          const [newest] = (await this.commands.xrevrange(STREAM, '+', '-', 'COUNT', 1)) as Array<
            [string, string[]]
          >;
          this.lastId = newest?.[0] ?? '0-0';
        }
        const answer = (await this.blocking.xread(
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          STREAM,
          this.lastId,
        )) as Array<[string, Array<[string, string[]]>]> | null;
        for (const [, entries] of answer ?? []) {
          for (const [id, fields] of entries) {
            this.lastId = id;
            this.dispatch(fields[1]);
          }
        }
      } catch (error) {
        if (!this.running) return;
        if (Date.now() - lastLogged > 10_000) {
          lastLogged = Date.now();
          this.logger.warn({ err: error }, 'reading ended sessions from redis failed; retrying');
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  private dispatch(raw: string | undefined): void {
    if (!raw) return;
    let payload: SessionEndedPayload;
    try {
      payload = JSON.parse(raw) as SessionEndedPayload;
    } catch {
      return;
    }
    for (const handle of this.handlers) handle(payload);
  }
}
