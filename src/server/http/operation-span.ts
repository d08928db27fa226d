import type { IncomingMessage } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLContext } from '../../graphql/context';
import {
  context,
  contextFrom,
  nameOperationSpan,
  SpanStatusCode,
  startOperationSpan,
  trace,
  type TraceCarrier,
} from '../../telemetry/spans';

/**
 * The span of one GraphQL operation over HTTP. Its parent is the HTTP request's span (the http
 * instrumentation, which took the client's `traceparent`), or, without one, the client's
 * `traceparent` itself. Apollo runs the operation inside it, so that what the resolvers start
 * (a reply) is its child.
 */
export function operationContextOf(req: IncomingMessage) {
  const active = context.active();
  const parent = trace.getSpan(active)
    ? active
    : contextFrom(req.headers as unknown as TraceCarrier);
  const { span, context: operation } = startOperationSpan(parent);
  return {
    within: <T>(fn: () => T): T => context.with(operation, fn),
    end(status: number) {
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute('http.response.status_code', status);
      span.end();
    },
  };
}

/** Names the operation's span (`mutation SendMessage`) once Apollo has resolved the operation. */
export function operationSpanPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, operationName }) {
          if (operation)
            nameOperationSpan(trace.getActiveSpan(), operation.operation, operationName);
        },
        async didEncounterErrors() {
          trace.getActiveSpan()?.setAttribute('graphql.errors', true);
        },
      };
    },
  };
}
