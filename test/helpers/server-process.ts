import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

/**
 * The build under test. `PALAVER_SERVER_MAIN` points at another one (an older commit's
 * `dist/main.js`) to check that a process-level test fails where the bug still is.
 */
const MAIN =
  process.env.PALAVER_SERVER_MAIN ?? path.resolve(__dirname, '..', '..', 'dist', 'main.js');

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs the built server (`node dist/main.js`) as a user would, with only the given environment. */
export function runServer(env: Record<string, string>): {
  child: ChildProcess;
  lines: string[];
  exited: ServerProcess['exited'];
} {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, lines, exited };
}

/** Starts the server and waits for its "ready" log line (JSON logs: production mode). */
export async function startServerProcess(
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<ServerProcess> {
  const run = runServer(env);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const line of run.lines) {
      if (!line.includes('Palaver is ready')) continue;
      const port = (JSON.parse(line) as { port: number }).port;
      return { ...run, port };
    }
    const status = await Promise.race([run.exited, sleep(100, null)]);
    if (status) throw new Error(`server exited early: ${run.lines.join('\n')}`);
  }
  run.child.kill('SIGKILL');
  throw new Error(`server did not get ready:\n${run.lines.join('\n')}`);
}
