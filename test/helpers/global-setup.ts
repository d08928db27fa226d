// First: an older Node stops here with one line (src/config/node-version.ts).
import '../../src/config/node-version';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ensureLocalDatabaseBinary } from '../../src/db/local-server';
import { ensureSystemPackages } from './system-packages';

/**
 * Before the workers start: install the system programs the tests start (redis-server,
 * haproxy, chromium) where missing, build the local FerretDB once (unless a server is given),
 * and compile the server, because process tests run the real `node dist/main.js`.
 */
export default async function globalSetup(): Promise<void> {
  ensureSystemPackages();
  const root = path.resolve(__dirname, '..', '..');
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  if (process.env.MONGODB_URL) return;
  await ensureLocalDatabaseBinary((message) => process.stderr.write(`${message}\n`));
}
