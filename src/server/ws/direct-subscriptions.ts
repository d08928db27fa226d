import type { ExecutionResult } from 'graphql';
import { pushTo, type PushSource } from '../../util/push-source';

/** Sends one result of a subscription to its client now, as a `next` message. */
export type SendResult = (result: ExecutionResult) => void;

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

/**
 * A subscription whose events are shaped and sent in the turn they arrive: a streamed reply's
 * token goes from the upstream's socket to the client's in one call chain, with no promise on
 * the way. Through graphql-ws's own loop each event cost four promise steps or more (our
 * iterator, graphql-ws's `for await`, its `onNext` hook, the socket write it waits for),
 * measured with `npm run bench -- --only token`.
 *
 * graphql-ws still owns the operation: it iterates this object, whose first next() starts the
 * direct sending (graphql-ws is iterating only once it has registered the operation, so a
 * `complete` from the client before that sends nothing). That next() settles when the source
 * ends, after every event was sent, and graphql-ws then sends `complete`; it rejects when an
 * event cannot be shaped, and graphql-ws then sends `error`, as it would have. `return()` (the
 * client's `complete`, a closed socket) stops sending at once.
 *
 * An event whose shape answers later (a field with a loader) holds the events after it, so
 * the client gets them in order.
 */
export class DirectSubscription implements AsyncIterableIterator<ExecutionResult> {
  private started = false;
  private closed = false;
  private failure: { error: unknown } | null = null;
  private waiter: {
    resolve: (result: IteratorResult<ExecutionResult>) => void;
    reject: (error: unknown) => void;
  } | null = null;
  /** Set while an event's shape is pending: later events and the end wait behind it. */
  private backlog: Promise<void> | null = null;

  constructor(
    private readonly source: PushSource<unknown>,
    private readonly shape: (event: unknown) => ExecutionResult | Promise<ExecutionResult>,
    private readonly send: SendResult,
  ) {}

  next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.closed) return Promise.resolve(DONE);
    const settled = new Promise<IteratorResult<ExecutionResult>>((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
    if (!this.started) {
      this.started = true;
      this.source[pushTo](
        (event) => this.arrive(event),
        () => this.after(() => this.finish()),
      );
    }
    return settled;
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    this.finish();
    return Promise.resolve(DONE);
  }

  throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
    this.finish();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ExecutionResult> {
    return this;
  }

  private arrive(event: unknown): void {
    this.after(() => this.deliver(event));
  }

  /** Runs `step` now, or after the pending shape when there is one. Steps never reject. */
  private after(step: () => void | Promise<void>): void {
    if (this.backlog) {
      this.backlog = this.backlog.then(step);
    } else {
      const later = step();
      if (!later) return;
      this.backlog = later;
    }
    const link = this.backlog;
    // The last link clears the backlog: events that came meanwhile are chained behind it.
    void link.then(() => {
      if (this.backlog === link) this.backlog = null;
    });
  }

  private deliver(event: unknown): void | Promise<void> {
    if (this.closed) return;
    try {
      const shaped = this.shape(event);
      if (!isPromise(shaped)) return this.sendNow(shaped);
      return shaped.then(
        (result) => this.sendNow(result),
        (error: unknown) => this.fail(error),
      );
    } catch (error) {
      this.fail(error);
    }
  }

  private sendNow(result: ExecutionResult): void {
    if (this.closed) return;
    try {
      this.send(result);
    } catch (error) {
      this.fail(error);
    }
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.failure = { error };
    this.closed = true;
    void this.source.return?.();
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(error);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    void this.source.return?.();
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.resolve(DONE);
  }
}

export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T>)?.then === 'function';
}
