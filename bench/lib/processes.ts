import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
/** The server under test gets core 0; this process (load, fake upstream) and the database core 1. */
export const SERVER_CORE = 0;
export const LOAD_CORE = 1;
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The machine's cores. Not `availableParallelism()`: that follows this process's affinity, so
 * once the orchestrator pinned itself to the load core it reported 1, pinning was skipped, and
 * every server inherited the load core (measured: a login storm used one core of two).
 */
const MACHINE_CORES = cpus().length;

export function canPin(): boolean {
  return MACHINE_CORES >= 2 && process.platform === 'linux';
}

export function pin(pid: number, core: number): void {
  if (!canPin()) return;
  spawn('taskset', ['-cp', String(core), String(pid)], { stdio: 'ignore' });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** User + system CPU seconds a process has used (Linux /proc). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

export interface RunningProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  output: string[];
  stop(): Promise<void>;
}

/**
 * Starts `node <script>` pinned to the server core and waits until its port answers HTTP.
 * Every subject and baseline is started the same way, just before it is measured.
 */
export async function startNode(
  script: string,
  env: Record<string, string>,
  options: { pinned?: boolean } = {},
): Promise<RunningProcess> {
  const port = await freePort();
  // BENCH_NODE_FLAGS (e.g. --cpu-prof) reaches every started server, for profiling a case.
  const extraFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const nodeArgs = ['--max-old-space-size=4096', ...extraFlags, script];
  // A child inherits this process's affinity (the load core), so "unpinned" must name every core.
  const cores = (options.pinned ?? true) ? String(SERVER_CORE) : `0-${MACHINE_CORES - 1}`;
  const command = canPin() ? 'taskset' : process.execPath;
  const commandArgs = canPin() ? ['-c', cores, process.execPath, ...nodeArgs] : nodeArgs;
  const child = spawn(command, commandArgs, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.on('data', (chunk) => output.push(String(chunk)));
  child.stderr!.on('data', (chunk) => output.push(String(chunk)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited: ${output.join('')}`);
    const up = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error(`${script} did not start: ${output.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    child,
    pid: child.pid!,
    port,
    output,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
