/**
 * `npm run cluster`: a cluster on one machine, to try scale-out. Starts redis-server, the
 * local database (or uses MONGODB_URL), two Palaver instances on the same database and Redis,
 * and HAProxy in front of them, round-robin, WebSocket upgrades included, on CLUSTER_PORT
 * (4000). Ctrl-C stops all of it. Debian packages: redis-server, haproxy.
 *
 * The local database is FerretDB, which loses concurrent updates from several connections
 * (../shared/DATABASE.md): good enough to watch a stream move between instances, not for load.
 * Production runs N instances on a MongoDB replica set (MONGODB_URL) and Redis with a replica.
 */
// First: an older Node stops here with one line (config/node-version.ts).
import '../config/node-version';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { localSecret } from '../config/local-secret';
import { DEV_DATA_DIR, LocalDatabaseServer } from '../db/local-server';

const PORT = Number(process.env.CLUSTER_PORT ?? 4000);
const INSTANCE_PORTS = [PORT + 1, PORT + 2];
const REDIS_PORT = Number(process.env.CLUSTER_REDIS_PORT ?? PORT + 379);
const MAIN = path.resolve(__dirname, '..', 'main.js');

const children: ChildProcess[] = [];

/** Runs a program, prefixing its output with `name`; the cluster stops if it dies. */
function run(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => console.log(`[${name}] ${line}`));
  }
  child.once('exit', (code, signal) => {
    if (stopping) return;
    console.error(`[cluster] ${name} exited (${signal ?? code}); stopping the cluster`);
    void stop(1);
  });
  child.once('error', (error) => {
    console.error(`[cluster] ${name} could not start: ${error.message}`);
    void stop(1);
  });
  children.push(child);
  return child;
}

function haproxyConfig(): string {
  return `global
  log stdout format raw local0 warning
defaults
  mode http
  log global
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  # A WebSocket is a tunnel once upgraded: it lives as long as the client keeps it.
  timeout tunnel 1h
frontend palaver
  bind 127.0.0.1:${PORT}
  default_backend instances
backend instances
  balance roundrobin
  option httpchk GET /healthz
${INSTANCE_PORTS.map((port, i) => `  server palaver-${i + 1} 127.0.0.1:${port} check inter 1s`).join('\n')}
`;
}

let stopping = false;
let local: LocalDatabaseServer | undefined;

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const child of children.reverse()) child.kill('SIGTERM');
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) =>
          child.exitCode !== null || child.signalCode ? resolve(null) : child.once('exit', resolve),
        ),
    ),
  );
  await local?.stop();
  process.exit(code);
}

async function main(): Promise<void> {
  run('redis', 'redis-server', ['--port', String(REDIS_PORT), '--bind', '127.0.0.1', '--save', '']);
  let databaseUrl = process.env.MONGODB_URL;
  if (!databaseUrl) {
    local = new LocalDatabaseServer({ dataDir: DEV_DATA_DIR, restartOnCrash: true });
    databaseUrl = await local.start();
  }
  const shared = {
    MONGODB_URL: databaseUrl,
    REDIS_URL: `redis://127.0.0.1:${REDIS_PORT}`,
    // Both instances must sign and check tokens with one key: the local setup's own.
    SECRET_KEY: process.env.SECRET_KEY ?? localSecret(),
    HOST: '127.0.0.1',
    // A cluster to watch: each instance serves /metrics (HAProxy passes it through here only
    // because everything listens on loopback; keep it off a public balancer in production).
    METRICS_ENABLED: process.env.METRICS_ENABLED ?? 'true',
  };
  INSTANCE_PORTS.forEach((port, i) =>
    run(`palaver-${i + 1}`, process.execPath, [MAIN], { ...shared, PORT: String(port) }),
  );
  const configDir = mkdtempSync(path.join(tmpdir(), 'palaver-cluster-'));
  const configFile = path.join(configDir, 'haproxy.cfg');
  writeFileSync(configFile, haproxyConfig());
  run('haproxy', 'haproxy', ['-f', configFile, '-db']);
  console.log(
    `[cluster] http://127.0.0.1:${PORT}/graphql → instances on ${INSTANCE_PORTS.join(', ')} (round-robin), Redis on ${REDIS_PORT}`,
  );
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
}

main().catch((error: unknown) => {
  console.error(error);
  void stop(1);
});
