import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type FormattedExecutionResult } from 'graphql';

type ExecutionResult<TData> = FormattedExecutionResult<TData, unknown>;
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface CloseInfo {
  code: number;
  reason: string;
}

/**
 * A graphql-ws client as a browser app would use it (connectionParams carry the token), with
 * retries off so a test sees each close as it happens.
 */
export class TestSocket {
  readonly closes: CloseInfo[] = [];
  private closeWaiters: Array<(info: CloseInfo) => void> = [];
  readonly client: Client;
  private connectedResolve!: () => void;
  /** Resolves once the server acknowledged connection_init. */
  readonly connected: Promise<void>;

  constructor(
    url: string,
    connectionParams: Record<string, unknown> | (() => Record<string, unknown>) = {},
  ) {
    this.connected = new Promise((resolve) => (this.connectedResolve = resolve));
    this.client = createClient({
      url,
      webSocketImpl: WebSocket,
      connectionParams,
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => undefined,
      on: {
        connected: () => this.connectedResolve(),
        closed: (event) => {
          const { code, reason } = event as { code: number; reason: string };
          const info = { code, reason: String(reason) };
          this.closes.push(info);
          const waiters = this.closeWaiters;
          this.closeWaiters = [];
          for (const wake of waiters) wake(info);
        },
      },
    });
  }

  static withToken(url: string, token: string): TestSocket {
    return new TestSocket(url, { authorization: `Bearer ${token}` });
  }

  /** The next close (or the one that already happened). */
  nextClose(timeoutMs = 5_000): Promise<CloseInfo> {
    if (this.closes.length > 0) return Promise.resolve(this.closes[this.closes.length - 1]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`socket did not close within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.closeWaiters.push((info) => {
        clearTimeout(timer);
        resolve(info);
      });
    });
  }

  /** Runs a query or mutation over the socket and returns its single result. */
  async execute<TData, TVariables>(
    document: TypedDocumentNode<TData, TVariables>,
    variables?: TVariables,
    /** The operation's extensions (a trace context, `traceparent`). */
    extensions?: Record<string, unknown>,
  ): Promise<ExecutionResult<TData>> {
    const iterator = this.client.iterate<TData>({
      query: print(document),
      variables: variables as Record<string, unknown> | undefined,
      ...(extensions ? { extensions } : {}),
    });
    const first = await iterator.next();
    await iterator.return?.();
    return first.value as ExecutionResult<TData>;
  }

  /** Subscribes; events are collected as they arrive. */
  subscribe<TData, TVariables>(
    document: TypedDocumentNode<TData, TVariables>,
    variables?: TVariables,
  ): Subscription<TData> {
    return new Subscription<TData>(
      this.client,
      print(document),
      variables as Record<string, unknown> | undefined,
    );
  }

  async dispose(): Promise<void> {
    await this.client.dispose();
  }
}

export class Subscription<TData> {
  readonly events: Array<ExecutionResult<TData>> = [];
  readonly done: Promise<void>;
  error: unknown = null;
  private readonly stop: () => void;
  private waiters: Array<() => void> = [];

  constructor(client: Client, query: string, variables?: Record<string, unknown>) {
    let finish!: () => void;
    this.done = new Promise((resolve) => (finish = resolve));
    this.stop = client.subscribe<TData>(
      { query, variables },
      {
        next: (value) => {
          this.events.push(value);
          this.wake();
        },
        error: (error) => {
          this.error = error;
          this.wake();
          finish();
        },
        complete: () => {
          this.wake();
          finish();
        },
      },
    );
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Waits until `count` events arrived (or the subscription ended). */
  async waitForEvents(count: number, timeoutMs = 10_000): Promise<Array<ExecutionResult<TData>>> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < count) {
      const remaining = deadline - Date.now();
      if (remaining <= 0)
        throw new Error(`got ${this.events.length} of ${count} events in ${timeoutMs} ms`);
      const ended = await Promise.race([
        new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), remaining);
          this.waiters.push(() => {
            clearTimeout(timer);
            resolve(false);
          });
        }),
        this.done.then(() => true),
      ]);
      if (ended && this.events.length < count) break;
    }
    return this.events;
  }

  async untilDone(timeoutMs = 15_000): Promise<Array<ExecutionResult<TData>>> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.done,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`subscription did not complete in ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    return this.events;
  }

  unsubscribe(): void {
    this.stop();
  }

  /**
   * The code the server refused the operation with: graphql-ws's error frame (a refusal before
   * execution), or the errors of the first result (one during it).
   */
  refusalCode(): string | undefined {
    const errors =
      (this.error as Array<{ extensions?: { code?: string } }> | null) ?? this.events[0]?.errors;
    return (errors?.[0] as { extensions?: { code?: string } } | undefined)?.extensions?.code;
  }
}
