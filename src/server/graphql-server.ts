import { createServer, type Server } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import type { GraphQLSchema } from 'graphql';
import type { Config } from '../config/config';
import type { Database } from '../db/connection';
import type { ContextFactory } from '../graphql/context-factory';
import { formatError } from '../graphql/format-error';
import { QUERY_LIMITS } from '../graphql/query-limits';
import type { GraphQLContext } from '../graphql/context';
import type { Logger } from '../log/logger';
import type { Authenticator } from '../modules/auth/authenticator';
import type { SessionEndedFeed } from '../modules/auth/session-ended';
import {
  drainPlugin,
  errorLoggingPlugin,
  queryLimitsPlugin,
  scrubValuesPlugin,
} from './http/apollo-plugins';
import type { Metrics } from '../metrics/metrics';
import { createRequestListener } from './http/http-app';
import { attachmentRoutes, type AttachmentRoutesModule } from './http/attachment-routes';
import { stripeWebhookRoutes } from './http/stripe-webhook-routes';
import type { StripeBilling } from '../modules/billing/stripe-billing';
import { operationSpanPlugin } from './http/operation-span';
import { WebSocketGateway } from './ws/websocket-gateway';

/** In-flight HTTP requests get this long to finish on shutdown before their sockets close. */
const HTTP_DRAIN_GRACE_MS = 10_000;
/**
 * A request must arrive whole within this long, its headers within the second: a client that
 * trickles its body a byte at a time cannot hold a connection (Node's defaults are 300 s/60 s).
 */
export const HTTP_REQUEST_TIMEOUT_MS = 30_000;
export const HTTP_HEADERS_TIMEOUT_MS = 10_000;
const HTTP_TIMEOUT_CHECK_MS = 2_000;

export interface GraphQLServerOptions {
  config: Config;
  logger: Logger;
  database: Database;
  schema: GraphQLSchema;
  sessionsEnded: SessionEndedFeed;
  authenticator: Authenticator;
  contextFactory: ContextFactory;
  /** Tests shorten these to see them act. */
  httpTimeouts?: { requestMs: number; headersMs: number };
  /** Served at /metrics. */
  metrics: Metrics;
  /** True from the moment shutdown begins: /readyz then answers 503. */
  isStopping: () => boolean;
  /** Serves the upload and download routes. */
  attachments: AttachmentRoutesModule;
  /** Stripe's webhook, when STRIPE_SECRET_KEY is set. */
  stripe?: StripeBilling;
}

export interface GraphQLServer {
  httpServer: Server;
  websocket: WebSocketGateway;
  /** Stops HTTP accepting and drains it, then closes the sockets with 1001. */
  stop(): Promise<void>;
}

/** `/graphql` over HTTP (Apollo) and WebSocket (graphql-ws) on one Node server, not listening. */
export async function createGraphQLServer(options: GraphQLServerOptions): Promise<GraphQLServer> {
  const { config, schema, contextFactory } = options;
  const httpServer = createServer({
    requestTimeout: options.httpTimeouts?.requestMs ?? HTTP_REQUEST_TIMEOUT_MS,
    headersTimeout: options.httpTimeouts?.headersMs ?? HTTP_HEADERS_TIMEOUT_MS,
    // How often Node looks for requests past those timeouts (its default is every 30 s).
    connectionsCheckingInterval: Math.min(
      HTTP_TIMEOUT_CHECK_MS,
      options.httpTimeouts?.requestMs ?? HTTP_TIMEOUT_CHECK_MS,
    ),
  });
  const introspection = config.developerTools;
  const exposeInternals = config.developerTools && config.nodeEnv === 'development';

  const websocket = new WebSocketGateway({
    httpServer,
    schema,
    authenticator: options.authenticator,
    contextFactory,
    sessionsEnded: options.sessionsEnded,
    logger: options.logger,
    trustProxy: config.http.trustProxy,
    maxSocketsPerUser: config.http.maxSocketsPerUser,
    corsOrigins: config.http.corsOrigins,
    introspection,
    hideSchemaDetails: config.isProduction,
    exposeInternals,
  });

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection,
    csrfPrevention: true,
    // The token limit holds while parsing, before any other limit can look at the document.
    parseOptions: { maxTokens: QUERY_LIMITS.maxTokens },
    // No "Did you mean …?" in production: with introspection off it would map the schema.
    hideSchemaDetailsFromClientErrors: config.isProduction,
    // main.ts owns SIGINT/SIGTERM and stops everything in order; Apollo's own handler would
    // race it (and re-raise the signal after stopping only itself).
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => formatError(formatted, error, { exposeInternals }),
    plugins: [
      // Order matters on stop: HTTP stops accepting first, then the sockets close with 1001.
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: HTTP_DRAIN_GRACE_MS }),
      drainPlugin(() => websocket.close()),
      ApolloServerPluginLandingPageDisabled(),
      // No resolver sets cache hints; the plugin would otherwise wrap every field resolver.
      ApolloServerPluginCacheControlDisabled(),
      queryLimitsPlugin(),
      scrubValuesPlugin(),
      errorLoggingPlugin(),
      operationSpanPlugin(),
    ],
  });
  await apollo.start();
  httpServer.on(
    'request',
    createRequestListener({
      config,
      apollo,
      contextFactory,
      database: options.database,
      metrics: options.metrics,
      isStopping: options.isStopping,
      attachmentRoutes: attachmentRoutes({
        config,
        authenticator: options.authenticator,
        attachments: options.attachments,
        logger: options.logger,
      }),
      webhookRoutes: stripeWebhookRoutes(options.stripe, options.logger),
    }),
  );
  return { httpServer, websocket, stop: () => apollo.stop() };
}
