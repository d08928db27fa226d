import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { connectDatabase } from '../../src/db/connection';
import type { Bench } from './context';
import { commandsDuring } from '../../test/helpers/command-monitor';

/**
 * The same application code in this process, with the driver's command monitoring on: for the
 * cases that count database commands (the subject process cannot be observed that way).
 */
export async function createBenchApp(bench: Bench, env: Record<string, string> = {}) {
  const config = loadConfig({
    ...bench.subjectEnv,
    ...env,
    MONGODB_URL: bench.dbUrl,
    DATABASE_NAME: bench.dbName,
  });
  const logger = pino({ level: 'silent' });
  const database = await connectDatabase(bench.dbUrl, bench.dbName, logger, {
    monitorCommands: true,
  });
  const app = await createApp({ config, logger, database });
  await new Promise<void>((resolve) => app.httpServer.listen(0, '127.0.0.1', resolve));
  const port = (app.httpServer.address() as AddressInfo).port;
  return {
    app,
    database,
    port,
    url: `http://127.0.0.1:${port}/graphql`,
    /** Commands sent while `action` runs, by name. */
    commands: (action: () => Promise<unknown>) => commandsDuring(database.connection, action),
    async stop() {
      await app.stop();
      await database.close();
    },
  };
}
