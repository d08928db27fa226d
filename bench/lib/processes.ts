import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
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

/** User and system (kernel) CPU seconds a process has used, all its threads (Linux /proc). */
export function cpuTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    user: Number(fields[11]) / CLOCK_TICKS_PER_SECOND,
    system: Number(fields[12]) / CLOCK_TICKS_PER_SECOND,
  };
}

/**
 * CPU seconds of the JavaScript thread (`main`, the process's first thread) and of all its
 * other threads (`helpers`: V8's parallel garbage collection and compilation, libuv's pool).
 */
export function threadCpuSeconds(pid: number): { main: number; helpers: number } {
  const split = { main: 0, helpers: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const seconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
    if (tid === String(pid)) split.main += seconds;
    else split.helpers += seconds;
  }
  return split;
}

/** User + system CPU seconds a process has used. */
export function cpuSeconds(pid: number): number {
  const { user, system } = cpuTimes(pid);
  return user + system;
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
  // BENCH_CHILD_OUTPUT: a folder that keeps each server's output (with --trace-gc, its pauses).
  if (process.env.BENCH_CHILD_OUTPUT) {
    const file = createWriteStream(
      path.join(process.env.BENCH_CHILD_OUTPUT, `${path.basename(script)}-${child.pid}.log`),
    );
    child.stdout!.pipe(file);
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited: ${output.join('')}`);
    const up = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error(`${script} did not start: ${output.join('')}`);
    await sleep(100);
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

/**
 * With BENCH_PERF set to a folder, records the process with Linux `perf` (call graphs, kernel
 * included) while a case measures it: the V8 profiler sees only the JavaScript thread and
 * counts time in syscalls made from libuv's poll as idle. Start the servers with
 * BENCH_NODE_FLAGS=--perf-basic-prof so that JavaScript frames have names, then
 * `perf report -i FOLDER/LABEL.data`. Returns the stop, or null when not asked for.
 */
export function perfRecord(pid: number, label: string): (() => Promise<void>) | null {
  const folder = process.env.BENCH_PERF;
  if (!folder) return null;
  const perf = spawn(
    'perf',
    ['record', '-F', '999', '-g', '-p', String(pid), '-o', path.join(folder, `${label}.data`)],
    { stdio: 'ignore' },
  );
  return () =>
    new Promise((resolve) => {
      perf.once('exit', () => resolve());
      perf.kill('SIGINT');
    });
}
