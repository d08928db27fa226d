import mongoose, { type Connection } from 'mongoose';
import type { Logger } from '../log/logger';

/**
 * Mongoose-wide safety settings. `sanitizeFilter` neutralises `$` operators hidden in values
 * that reached a filter (NoSQL injection); our own operators are marked `mongoose.trusted()`.
 */
mongoose.set('sanitizeFilter', true);
mongoose.set('strictQuery', true);

/**
 * Values chosen against the local FerretDB (DATABASE.md) to notice a dead server within
 * seconds. `timeoutMS` bounds every operation end to end (the driver's client-side timeout):
 * with the server stalled (SIGSTOP), an operation and those queued behind it on the one
 * connection waited for the monitor to give up without it, and fail after 5 s with it; a socket
 * timeout alone did not help (figures: bench/FINDINGS.md, “Behind the code's comments”). The error answers SERVICE_UNAVAILABLE.
 */
const CONNECT_OPTIONS = {
  serverSelectionTimeoutMS: 5_000,
  heartbeatFrequencyMS: 1_000,
  timeoutMS: 5_000,
} as const;
const READINESS_PING_TIMEOUT_MS = 1_000;

export type DatabaseKind = 'mongodb' | 'ferretdb';

/** The server behind each connection made here (by-id.ts reads by it on FerretDB). */
const kinds = new WeakMap<Connection, DatabaseKind>();

/** What `connectDatabase` found behind `connection`; MongoDB for one made elsewhere. */
export function databaseKindOf(connection: Connection): DatabaseKind {
  return kinds.get(connection) ?? 'mongodb';
}

export interface Database {
  connection: Connection;
  kind: DatabaseKind;
  /** True when the server answers a ping within a second. */
  isReady(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Connects to `url`. FerretDB 1.x loses concurrent updates to one document when commands run
 * on several connections (DATABASE.md), so on FerretDB the pool is one connection whatever the
 * URL says; MongoDB keeps the URL's pool settings.
 */
export async function connectDatabase(
  url: string,
  dbName: string,
  logger: Logger,
  /** Emit the driver's command events (tests and benchmarks count commands per request). */
  options: { monitorCommands?: boolean } = {},
): Promise<Database> {
  const base = { ...CONNECT_OPTIONS, dbName, monitorCommands: options.monitorCommands ?? false };
  let connection = await mongoose.createConnection(url, { ...base, maxPoolSize: 1 }).asPromise();
  const buildInfo = await connection.db!.admin().command({ buildInfo: 1 });
  const kind: DatabaseKind = 'ferretdbVersion' in buildInfo ? 'ferretdb' : 'mongodb';

  if (kind === 'mongodb') {
    await connection.close();
    connection = await mongoose.createConnection(url, base).asPromise();
  }
  kinds.set(connection, kind);
  logger.info(
    {
      database: dbName,
      server: redactUrl(url),
      kind,
      version: buildInfo.version,
      ...(kind === 'ferretdb' ? { poolSize: 1 } : {}),
    },
    kind === 'ferretdb'
      ? 'database: FerretDB (one connection, so concurrent updates stay atomic)'
      : 'database: MongoDB',
  );

  return {
    connection,
    kind,
    isReady: () => ping(connection),
    close: () => connection.close(),
  };
}

async function ping(connection: Connection): Promise<boolean> {
  if (connection.readyState !== 1 || !connection.db) return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error('ping timed out')),
        READINESS_PING_TIMEOUT_MS + 500,
      );
    });
    await Promise.race([
      connection.db.admin().command({ ping: 1, maxTimeMS: READINESS_PING_TIMEOUT_MS }),
      timeout,
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Never log credentials that may sit in a connection string. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//[redacted]@');
}
