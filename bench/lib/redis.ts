import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { Redis } from 'ioredis';
import { ensureSystemPackages, SYSTEM_PACKAGES } from '../../test/helpers/system-packages';

/** What a Redis server has done so far: its CPU and the calls of each command. */
export interface RedisStats {
  cpuSeconds: number;
  calls: Record<string, number>;
}

/** Reads INFO cpu and commandstats (commands a script calls count there too). */
export async function redisStats(url: string): Promise<RedisStats> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info('all');
    const field = (name: string) =>
      Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
    const calls: Record<string, number> = {};
    for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
      calls[match[1]!] = +match[2]!;
    return { cpuSeconds: field('used_cpu_sys') + field('used_cpu_user'), calls };
  } finally {
    redis.disconnect();
  }
}

/** A redis-server of the bench's own on a free loopback port, nothing persisted. */
export async function startRedisServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  // A fresh machine lacks it: installed here as `npm test` does (root on Debian), or named.
  ensureSystemPackages(SYSTEM_PACKAGES.filter((entry) => entry.debian === 'redis-server'));
  const port = await new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address() as { port: number };
      probe.close(() => resolve(free));
    });
  });
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (let attempt = 0; ; attempt += 1) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) break;
    if (attempt > 200) throw new Error('redis-server did not start');
    await sleep(25);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
