import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';

/**
 * The span helpers the rest of the code uses. They speak only the OpenTelemetry API: with
 * tracing off (no SDK registered, start-tracing.ts) every span is the API's no-op one, the
 * context is never switched and nothing is propagated, at the cost of a function call.
 *
 * What a span may carry: names, types, ids, counts and durations. Never a variable's value, a
 * token, a password or a prompt or reply text (test/telemetry.traces.test.ts searches for them).
 */
export const tracer = trace.getTracer('palaver');

/** GraphQL semantic conventions (https://opentelemetry.io/docs/specs/semconv/graphql/). */
export const GRAPHQL_OPERATION_TYPE = 'graphql.operation.type';
export const GRAPHQL_OPERATION_NAME = 'graphql.operation.name';

/** A carrier of W3C trace context: HTTP headers, connectionParams, an operation's extensions. */
export type TraceCarrier = Record<string, unknown>;

const carrierGetter = {
  keys: (carrier: TraceCarrier) => Object.keys(carrier),
  get: (carrier: TraceCarrier, key: string) => {
    const value = carrier[key];
    return typeof value === 'string' || Array.isArray(value)
      ? (value as string | string[])
      : undefined;
  },
};

/** The context a carrier's `traceparent` (and `tracestate`) names, on top of `base`. */
export function contextFrom(
  carrier: TraceCarrier | null | undefined,
  base = ROOT_CONTEXT,
): Context {
  if (!carrier) return base;
  return propagation.extract(base, carrier, carrierGetter);
}

/** The active span's `traceparent` (to carry it where the context cannot go); none when off. */
export function activeTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/** Links the active span to the span a `traceparent` names (a reply written elsewhere). */
export function linkActiveSpanTo(traceparent: string | null | undefined, attributes?: Attributes) {
  if (!traceparent) return;
  const span = trace.getActiveSpan();
  const target = trace.getSpanContext(contextFrom({ traceparent }));
  if (span && target) span.addLink({ context: target, attributes });
}

/**
 * A GraphQL operation's span, named for what the operation is (`mutation SendMessage`) once it
 * is known; `parent` is the client's context (traceparent) or the HTTP request's span.
 */
export function startOperationSpan(parent: Context): { span: Span; context: Context } {
  const span = tracer.startSpan('graphql', { kind: SpanKind.SERVER }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/** Names an operation's span by its type and name (the names a client chose, not its data). */
export function nameOperationSpan(span: Span | undefined, type: string, name?: string | null) {
  if (!span) return;
  span.updateName(name ? `${type} ${name}` : type);
  span.setAttribute(GRAPHQL_OPERATION_TYPE, type);
  if (name) span.setAttribute(GRAPHQL_OPERATION_NAME, name);
}

/** Marks a span failed with a kind of error (its class name), never the error's message. */
export function failSpan(span: Span, error: unknown): void {
  const type = error instanceof Error ? error.name : typeof error;
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.setAttribute('error.type', type);
}

/** Runs `fn` in its own child span of the active one, ended when it settles. */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

export { context, SpanKind, SpanStatusCode, trace, type Context, type Span };
