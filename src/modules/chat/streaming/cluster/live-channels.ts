import type { Redis } from 'ioredis';

export interface LiveChannelHandlers {
  message(raw: string): void;
  /** The subscriber connection came back: what was published meanwhile is lost. */
  reconnected(): void;
}

/**
 * The Redis channels this instance listens on for replies written elsewhere, on the one
 * subscriber connection: a channel is subscribed while someone here follows it, once however
 * many do. The subscriber is shared with the event pub/sub, which ignores these channels.
 */
export class LiveChannels {
  private readonly handlers = new Map<string, Set<LiveChannelHandlers>>();
  private readonly subscribing = new Map<string, Promise<void>>();
  private connectedOnce = false;

  constructor(private readonly subscriber: Redis) {
    subscriber.on('message', (channel: string, raw: string) => {
      const handlers = this.handlers.get(channel);
      if (handlers) for (const handler of handlers) handler.message(raw);
    });
    subscriber.on('ready', () => {
      if (!this.connectedOnce) {
        this.connectedOnce = true;
        return;
      }
      for (const handlers of this.handlers.values()) {
        for (const handler of handlers) handler.reconnected();
      }
    });
    if (subscriber.status === 'ready') this.connectedOnce = true;
  }

  /** `ready` settles once Redis confirmed the subscription (or it failed: the log still serves). */
  subscribe(
    channel: string,
    handler: LiveChannelHandlers,
  ): { ready: Promise<void>; unsubscribe: () => void } {
    let handlers = this.handlers.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.handlers.set(channel, handlers);
      this.subscribing.set(
        channel,
        this.subscriber.subscribe(channel).then(
          () => {},
          () => {},
        ),
      );
    }
    handlers.add(handler);
    let subscribed = true;
    return {
      ready: this.subscribing.get(channel)!,
      unsubscribe: () => {
        if (!subscribed) return;
        subscribed = false;
        handlers.delete(handler);
        if (handlers.size > 0 || this.handlers.get(channel) !== handlers) return;
        this.handlers.delete(channel);
        this.subscribing.delete(channel);
        this.subscriber.unsubscribe(channel).catch(() => {});
      },
    };
  }
}
