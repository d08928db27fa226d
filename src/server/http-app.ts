import type { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import cors from 'cors';
import express, { type Express, type Request } from 'express';
import type { Config } from '../config/config';
import type { Database } from '../db/connection';
import type { ContextFactory } from '../graphql/context-factory';
import type { GraphQLContext } from '../graphql/context';
import { IDE_ASSET_PREFIX, IDE_HTML, ideAssetsRouter } from './ide';

/** Bodies larger than this are refused before parsing; a long prompt is ~128 KB. */
const MAX_BODY_BYTES = '1mb';

/** A browser opening /graphql (no operation in the URL, HTML accepted) gets the IDE. */
function wantsIde(req: Request): boolean {
  return (
    req.method === 'GET' &&
    req.query.query === undefined &&
    req.accepts(['json', 'html']) === 'html'
  );
}

export function createHttpApp(options: {
  config: Config;
  apollo: ApolloServer<GraphQLContext>;
  contextFactory: ContextFactory;
  database: Database;
}): Express {
  const { config, apollo, contextFactory, database } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.http.trustProxy);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
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

  app.use(
    '/graphql',
    cors({ origin: config.http.corsOrigins, credentials: true, exposedHeaders: ['x-request-id'] }),
    express.json({ limit: MAX_BODY_BYTES }),
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const requestId = contextFactory.requestIdOf(req);
        res.setHeader('x-request-id', requestId);
        return contextFactory.forHttp(
          req,
          req.ip ?? req.socket.remoteAddress ?? 'unknown',
          requestId,
        );
      },
    }),
  );

  app.use((_req, res) => {
    res.status(404).json({ error: 'Not found. The API is at /graphql.' });
  });
  return app;
}
