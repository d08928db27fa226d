import { pushTo, type PushSource } from './push-source';

/**
 * An async iterator fed by push(), and a push source (push-source.ts): the one that modules hand
 * to the WebSocket gateway, whose consumer then pays no promise per value (a streamed reply's
 * tokens, see server/ws/README.md). Unlike a bare async generator, `return()` settles a pending
 * `next()` at once and runs the cleanup right away: a client that unsubscribes while waiting for
 * the next token frees its listener immediately, not when the next token happens to arrive.
 *
 * Why not `Repeater` (@graphql-yoga/subscription): it chains promises per push, several times
 * this channel's cost per token per follower on the path with the tightest budget
 * (figures: bench/FINDINGS.md, “Behind the code's comments”); and a Repeater refuses more than 1,024 pushes waiting for a reader (a replay of a
 * long reply is pushed in one turn) unless given a buffer sized for the longest replay.
 */
export class Channel<T> implements PushSource<T> {
  private readonly buffered: T[] = [];
  private pending: ((result: IteratorResult<T>) => void) | null = null;
  private closed = false;
  private consumer: { value: (value: T) => void; end: () => void } | null = null;

  constructor(private readonly onClose: () => void = () => undefined) {}

  push(value: T): void {
    if (this.closed) return;
    if (this.consumer) {
      this.consumer.value(value);
    } else if (this.pending) {
      const resolve = this.pending;
      this.pending = null;
      resolve({ value, done: false });
    } else {
      this.buffered.push(value);
    }
  }

  /** Ends the iteration after what is already buffered. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    if (this.consumer) {
      this.consumer.end();
    } else if (this.pending && this.buffered.length === 0) {
      const resolve = this.pending;
      this.pending = null;
      resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    const value = this.buffered.shift();
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.pending = resolve));
  }

  [pushTo](value: (value: T) => void, end: () => void): void {
    this.consumer = { value, end };
    const buffered = this.buffered.splice(0);
    for (const item of buffered) value(item);
    if (this.closed) end();
  }

  return(): Promise<IteratorResult<T>> {
    this.buffered.length = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
