import {
  contextFrom,
  context,
  nameOperationSpan,
  SpanStatusCode,
  startOperationSpan,
  type Context,
  type Span,
  type TraceCarrier,
} from '../../telemetry/spans';

/**
 * The span of each operation on a socket: from onSubscribe (the operation known and allowed)
 * to graphql-ws's onComplete, which it calls when a query or mutation has answered, when a
 * subscription ends, and for every open one when the socket closes. A subscription's span thus
 * lasts as long as the subscription. Its parent is the client's `traceparent`, from the
 * operation's extensions or the socket's connectionParams.
 */
export class SocketOperationSpans {
  /** By socket, then operation id: what onComplete and onError are given. */
  private readonly open = new WeakMap<object, Map<string, Span>>();
  /** By the operation's context value: what execute and subscribe are given. */
  private readonly contexts = new WeakMap<object, Context>();

  start(
    socket: object,
    id: string,
    contextValue: object,
    operation: { type: string; name?: string | null; carrier: TraceCarrier },
  ): void {
    const { span, context: active } = startOperationSpan(contextFrom(operation.carrier));
    nameOperationSpan(span, operation.type, operation.name);
    let spans = this.open.get(socket);
    if (!spans) this.open.set(socket, (spans = new Map()));
    spans.get(id)?.end();
    spans.set(id, span);
    this.contexts.set(contextValue, active);
  }

  /** Runs the operation in its span's context (a reply its mutation starts is the span's child). */
  within<T>(contextValue: unknown, fn: () => T): T {
    const active = this.contexts.get(contextValue as object);
    return active ? context.with(active, fn) : fn();
  }

  failed(socket: object, id: string): void {
    this.open.get(socket)?.get(id)?.setStatus({ code: SpanStatusCode.ERROR });
  }

  end(socket: object, id: string): void {
    const spans = this.open.get(socket);
    spans?.get(id)?.end();
    spans?.delete(id);
  }
}
