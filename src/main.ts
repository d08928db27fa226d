/**
 * Process entry: load config, find or start the database, create the app, listen, and own the
 * signals. SIGINT/SIGTERM stop accepting, close sockets with 1001, drain, close the database,
 * and exit 0 — or exit 1 if that takes longer than the grace period.
 */
// First: an older Node stops here with one line (config/node-version.ts).
import './config/node-version';
// Second: tracing, when configured, must patch http, mongodb and ioredis before they load.
import { tracing } from './telemetry/start-tracing';
import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig, type Config } from './config/config';
import { connectDatabase, type Database } from './db/connection';
import { DEV_DATA_DIR, LocalDatabaseServer } from './db/local-server';
import { createLogger, type Logger } from './log/logger';
import { createApp, type App } from './app';

const SHUTDOWN_GRACE_MS = 20_000;

function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}

async function openDatabase(
  config: Config,
  logger: Logger,
): Promise<{ database: Database; local?: LocalDatabaseServer }> {
  if (config.database.url) {
    return { database: await connectDatabase(config.database.url, config.database.name, logger) };
  }
  logger.info(
    { dataDir: DEV_DATA_DIR },
    'MONGODB_URL is unset: starting the local database (FerretDB on SQLite)',
  );
  const local = new LocalDatabaseServer({ dataDir: DEV_DATA_DIR, restartOnCrash: true, logger });
  const url = await local.start();
  return { database: await connectDatabase(url, config.database.name, logger), local };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config);
  const { database, local } = await openDatabase(config, logger);
  const app: App = await createApp({ config, logger, database });
  await listen(app.httpServer, config.http.port, config.http.host);
  const { port } = app.httpServer.address() as AddressInfo;
  logger.info(
    { port },
    `Palaver is ready: http://${config.http.host}:${port}/graphql (HTTP, WebSocket and IDE)`,
  );

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown took longer than the grace period; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    deadline.unref();
    try {
      await app.stop();
      logger.info('server stopped; closing the database');
      await database.close();
      await local?.stop();
      // The last spans (this shutdown's among them) go out before the process does.
      await tracing
        ?.shutdown()
        .catch((error: unknown) =>
          logger.warn({ err: error }, 'the last spans could not be exported'),
        );
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
