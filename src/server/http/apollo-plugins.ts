import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { BadRequestError } from '../../errors/errors';
import { assertWithinQueryLimits } from '../../graphql/query-limits';
import { isUnexpectedError } from '../../graphql/format-error';
import { scrubErrors } from '../../graphql/scrub-values';
import { ErrorCode } from '../../errors/error-codes';
import type { GraphQLContext } from '../../graphql/context';

/** Cost, depth and alias limits once the operation is known, before anything executes. */
export function queryLimitsPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, schema, operation }) {
          if (operation?.operation === 'subscription') {
            throw withHttpStatus(
              new BadRequestError(
                'Subscriptions are served over the WebSocket at /graphql (graphql-ws, subprotocol graphql-transport-ws), not over HTTP.',
              ),
              400,
            );
          }
          try {
            // Execution reads the request's variables after this hook: only the declared ones.
            request.variables = assertWithinQueryLimits(
              schema as GraphQLSchema,
              document,
              request.operationName,
              request.variables,
            ) as typeof request.variables;
          } catch (error) {
            // A refused document is the client's fault: 400, as for a validation failure.
            if (error instanceof GraphQLError) throw withHttpStatus(error, 400);
            throw error;
          }
        },
      };
    },
  };
}

function withHttpStatus(error: GraphQLError, status: number): GraphQLError {
  (error.extensions as Record<string, unknown>).http = { status };
  return error;
}

/** Cuts the request's variable values out of every error it answers with (scrub-values.ts). */
export function scrubValuesPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ request, response }) {
          if (response.body.kind !== 'single') return;
          const { singleResult } = response.body;
          if (singleResult.errors?.length) {
            singleResult.errors = scrubErrors(singleResult.errors, request.variables);
          }
        },
      };
    },
  };
}

/**
 * Logs unexpected errors with the request id, and gives the client that id in the masked
 * error so that a support request can be matched to the log line.
 */
export function errorLoggingPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) {
            if (isUnexpectedError(error)) {
              contextValue.logger.error(
                { err: error.originalError ?? error, path: error.path },
                'unexpected error',
              );
            }
          }
        },
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single') return;
          for (const error of response.body.singleResult.errors ?? []) {
            if (error.extensions?.code === ErrorCode.INTERNAL_SERVER_ERROR) {
              (error.extensions as Record<string, unknown>).requestId = contextValue.requestId;
            }
          }
        },
      };
    },
  };
}

/** Runs `drain` when Apollo stops, after the HTTP server stopped accepting. */
export function drainPlugin(drain: () => Promise<void>): ApolloServerPlugin<GraphQLContext> {
  return {
    async serverWillStart() {
      return { drainServer: drain };
    },
  };
}
