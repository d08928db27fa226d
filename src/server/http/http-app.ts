import type { Metrics } from '../../metrics/metrics';
import type { ApolloServer } from '@apollo/server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express, type Request, type Router } from 'express';
import type { Config } from '../../config/config';
import type { Database } from '../../db/connection';
import type { ContextFactory } from '../../graphql/context-factory';
import type { GraphQLContext } from '../../graphql/context';
import { createGraphQLEndpoint } from './graphql-endpoint';
import { IDE_ASSET_PREFIX, IDE_HTML, ideAssetsRouter } from './ide';

/**
 * A browser opening /graphql gets the IDE: it asks for HTML first, where GraphQL clients ask
 * for JSON. That holds for a shared link with an operation in it (`/graphql?query=…`, what
 * GraphiQL keeps in its address bar): the IDE opens with that operation in the editor.
 */
function wantsIde(req: Request): boolean {
  return req.method === 'GET' && req.accepts(['json', 'html']) === 'html';
}

/** Only `GET /graphql` can be the IDE; every other GraphQL request skips Express entirely. */
function isDirectGraphQLRequest(req: IncomingMessage): boolean {
  if (req.method === 'GET') return false;
  const url = req.url ?? '';
  const pathEnd = url.indexOf('?');
  const pathname = pathEnd >= 0 ? url.slice(0, pathEnd) : url;
  return pathname === '/graphql';
}

/** The HTTP server's request listener: `/graphql` on plain node:http, the rest on Express. */
export function createRequestListener(options: {
  config: Config;
  apollo: ApolloServer<GraphQLContext>;
  contextFactory: ContextFactory;
  database: Database;
  metrics: Metrics;
  isStopping: () => boolean;
  /** PUT /uploads/… and GET /attachments/… */
  attachmentRoutes: Router;
  /** POST /webhooks/stripe */
  webhookRoutes: Router;
}): (req: IncomingMessage, res: ServerResponse) => void {
  const graphqlEndpoint = createGraphQLEndpoint(options);
  const app = createExpressApp(
    options.database,
    options.isStopping,
    options.config.metricsEnabled ? options.metrics : null,
    graphqlEndpoint,
    options.attachmentRoutes,
    options.webhookRoutes,
  );
  return (req, res) => {
    if (isDirectGraphQLRequest(req)) graphqlEndpoint(req, res);
    else app(req, res);
  };
}

function createExpressApp(
  database: Database,
  isStopping: () => boolean,
  metrics: Metrics | null,
  graphqlEndpoint: (req: IncomingMessage, res: ServerResponse) => void,
  attachmentRoutes: Router,
  webhookRoutes: Router,
): Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Prometheus' text format. Counts only, no user data; keep it off the public load balancer.
  // Off (404) when METRICS_ENABLED is false, and by default in production.
  if (metrics) {
    app.get('/metrics', async (_req, res) => {
      res.type(metrics.contentType).send(await metrics.text());
    });
  }
  // 503 from the first moment of shutdown (prompts are refused from then on), so a load
  // balancer sends new work elsewhere while this instance drains.
  app.get('/readyz', async (_req, res) => {
    if (isStopping()) {
      res.status(503).json({ status: 'stopping' });
      return;
    }
    const ready = await database.isReady();
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ready' : 'unavailable', database: ready ? 'up' : 'down' });
  });

  app.use(IDE_ASSET_PREFIX, ideAssetsRouter());
  app.get('/graphql', (req, res, next) => {
    if (!wantsIde(req)) return next();
    res.type('html').send(IDE_HTML);
  });

  app.use('/graphql', graphqlEndpoint);
  app.use(attachmentRoutes);
  app.use(webhookRoutes);

  app.use((_req, res) => {
    res.status(404).json({ error: 'Not found. The API is at /graphql.' });
  });
  return app;
}
