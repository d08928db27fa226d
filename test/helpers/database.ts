import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { connectDatabase, type Database } from '../../src/db/connection';
import { LocalDatabaseServer } from '../../src/db/local-server';

/**
 * A database of a test file's own: a FerretDB child on throwaway files, or, when the
 * environment names a server (MONGODB_URL), a uniquely named database there that is dropped
 * at the end.
 */
export class TestDatabase {
  readonly name = `palaver_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  private connections: Database[] = [];

  private constructor(
    readonly url: string,
    readonly server: LocalDatabaseServer | null,
    private readonly dataDir: string | null,
  ) {}

  static async start(): Promise<TestDatabase> {
    const external = process.env.MONGODB_URL;
    if (external) return new TestDatabase(external, null, null);
    const dataDir = await mkdtemp(path.join(tmpdir(), 'palaver-test-db-'));
    const server = new LocalDatabaseServer({ dataDir });
    const url = await server.start();
    return new TestDatabase(url, server, dataDir);
  }

  async connect(): Promise<Database> {
    const database = await connectDatabase(this.url, this.name, pino({ level: 'silent' }), {
      monitorCommands: true,
    });
    this.connections.push(database);
    return database;
  }

  async stop(): Promise<void> {
    if (!this.server && this.connections[0]) {
      await this.connections[0].connection.dropDatabase().catch(() => undefined);
    }
    for (const connection of this.connections) await connection.close().catch(() => undefined);
    await this.server?.stop();
    if (this.dataDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}
