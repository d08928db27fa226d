import { MessageType } from 'graphql-ws';
import type { ExecutionResult } from 'graphql';
import type { WebSocket } from 'ws';
import type { SendResult } from './direct-subscriptions';
import type { ErrorMasking } from './error-masking';

/**
 * Who writes a pushed event to the socket (README.md): one sender per operation, kept by its
 * context value, the one thing of the operation that graphql-ws hands to `subscribe`.
 */
export class ResultSenders {
  /** By operation context: sends that operation's results straight to its socket. */
  private readonly senders = new WeakMap<object, SendResult>();

  constructor(private readonly errors: ErrorMasking) {}

  /** In onSubscribe, once the operation's context exists: its results go out as `next` `id`. */
  register(contextValue: object, socket: WebSocket, id: string, variables: unknown): void {
    this.senders.set(contextValue, (result) =>
      sendNext(socket, id, this.errors.masked(result, contextValue, variables) ?? result),
    );
  }

  of(contextValue: unknown): SendResult | undefined {
    return this.senders.get(contextValue as object);
  }
}

/**
 * A `next` message, as graphql-ws would write it (its adapter for ws also skips a socket that
 * is no longer open).
 */
function sendNext(socket: WebSocket, id: string, payload: ExecutionResult): void {
  if (socket.readyState !== socket.OPEN) return;
  socket.send(JSON.stringify({ id, type: MessageType.Next, payload }));
}
