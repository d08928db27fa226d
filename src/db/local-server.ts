import { spawn, type ChildProcess, execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import type { Logger } from '../log/logger';

/**
 * The local MongoDB-wire server for dev and tests: FerretDB 1.24 on SQLite, embedded in the
 * small Go module in tools/localdb (shared/DATABASE.md explains why it is built that way).
 * The binary is built on first use into the git-ignored .localdb/bin, and rebuilt when the
 * module's sources change.
 */
/** The checkout: the nearest folder above this file that holds tools/localdb (src/, dist/ or a bench build). */
export const PROJECT_ROOT = findProjectRoot(__dirname);

function findProjectRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'tools', 'localdb', 'go.mod'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(__dirname, '..', '..');
  }
}
const MODULE_DIR = path.join(PROJECT_ROOT, 'tools', 'localdb');
const BIN_DIR = path.join(PROJECT_ROOT, '.localdb', 'bin');
const BINARY = path.join(BIN_DIR, 'localdb');
const STAMP = path.join(BIN_DIR, 'localdb.stamp');
export const DEV_DATA_DIR = path.join(PROJECT_ROOT, '.localdb', 'data');

/** How long the child may take to print its READY line (a warm start takes ~0.2 s). */
const START_TIMEOUT_MS = 15_000;
/** A cold build downloads modules and compiles SQLite in Go: about 2 minutes on 2 cores. */
const BUILD_TIMEOUT_MS = 10 * 60_000;
/** After a crash the supervisor waits this long before starting the server again. */
const RESTART_DELAY_MS = 500;
const STOP_GRACE_MS = 5_000;
/** How often a build says how far it is (a cold one is silent for minutes otherwise). */
const BUILD_PROGRESS_MS = 10_000;

export class LocalDatabaseUnavailableError extends Error {
  override name = 'LocalDatabaseUnavailableError';
}

/** A hash of the module's sources: go.mod, go.sum and every .go file. */
async function sourceStamp(): Promise<string> {
  const hash = createHash('sha256');
  const goFiles = (await readdir(MODULE_DIR)).filter((file) => file.endsWith('.go')).sort();
  for (const file of ['go.mod', 'go.sum', ...goFiles]) {
    hash.update(file);
    hash.update(await readFile(path.join(MODULE_DIR, file)));
  }
  return hash.digest('hex');
}

/** Where the build says how it goes: the server's logger, or a script's console. */
export type BuildReporter = (message: string) => void;

/** Builds the binary unless the one on disk was built from the current sources. */
export async function ensureLocalDatabaseBinary(report?: BuildReporter): Promise<string> {
  const stamp = await sourceStamp();
  if (existsSync(BINARY) && existsSync(STAMP) && (await readFile(STAMP, 'utf8')) === stamp) {
    return BINARY;
  }
  report?.(
    'building the local database server (FerretDB, tools/localdb); the first build takes ~2 minutes',
  );
  await mkdir(BIN_DIR, { recursive: true });
  // Build to a private name and rename: two processes building at once never see half a file.
  const temporary = `${BINARY}.${process.pid}.tmp`;
  try {
    report?.('local database build: downloading Go modules');
    await runGo(['mod', 'download'], report, 'downloading Go modules');
    const { stdout } = await promisify(execFile)('go', ['list', '-deps', '.'], {
      cwd: MODULE_DIR,
      timeout: BUILD_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    });
    const packages = stdout.split('\n').filter(Boolean).length;
    await runGo(['build', '-v', '-o', temporary, '.'], report, 'compiling', packages);
  } catch (error) {
    const err = error as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') {
      throw new LocalDatabaseUnavailableError(
        'No database: MONGODB_URL is not set, and Go is not installed to build the local one. ' +
          'Either set MONGODB_URL to a MongoDB server (see .env.example), or install Go 1.24 or ' +
          'newer (Debian: apt-get install golang-go) so Palaver can build its local FerretDB.',
      );
    }
    throw new LocalDatabaseUnavailableError(
      `Building the local database (go build in tools/localdb) failed: ${err.stderr || err.message}`,
    );
  }
  await rename(temporary, BINARY);
  await writeFile(STAMP, stamp);
  report?.(`local database server built: ${BINARY}`);
  return BINARY;
}

/**
 * Runs one go command in tools/localdb and reports every BUILD_PROGRESS_MS how far it is: with
 * `-v`, go build prints each package it compiles (cached ones are not printed, so a warm build
 * says little and ends quickly). Rejects with go's output when it fails.
 */
function runGo(
  args: string[],
  report: BuildReporter | undefined,
  step: string,
  packages?: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('go', args, { cwd: MODULE_DIR, stdio: ['ignore', 'ignore', 'pipe'] });
    const started = Date.now();
    let compiled = 0;
    let output = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      output = (output + chunk).slice(-64 * 1024);
      compiled += chunk.split('\n').length - 1;
    });
    const progress = setInterval(() => {
      const seconds = Math.round((Date.now() - started) / 1000);
      const count = packages ? `: ${Math.min(compiled, packages)} of ${packages} packages` : '';
      report?.(`local database build: ${step}${count} (${seconds} s)`);
    }, BUILD_PROGRESS_MS);
    const deadline = setTimeout(() => child.kill('SIGKILL'), BUILD_TIMEOUT_MS);
    const settle = (error?: Error) => {
      clearInterval(progress);
      clearTimeout(deadline);
      if (error) reject(error);
      else resolve();
    };
    child.once('error', settle);
    child.once('close', (code, signal) => {
      if (code === 0) return settle();
      settle(
        Object.assign(new Error(`go ${args.join(' ')} exited with ${code ?? signal}`), {
          stderr: output,
        }),
      );
    });
  });
}

export interface LocalDatabaseOptions {
  /** Where the SQLite files live; dev keeps them, tests pass a temporary folder. */
  dataDir: string;
  /** 0 picks a free port on first start; restarts reuse the port so the URL stays valid. */
  port?: number;
  /** Start again after an unexpected exit (dev); tests control it by hand. */
  restartOnCrash?: boolean;
  logger?: Logger;
}

/** One supervised FerretDB child process on 127.0.0.1. */
export class LocalDatabaseServer {
  private child: ChildProcess | null = null;
  private port: number;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: LocalDatabaseOptions) {
    this.port = options.port ?? 0;
  }

  get url(): string {
    if (this.port === 0) throw new Error('the local database has not started yet');
    return `mongodb://127.0.0.1:${this.port}/`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** The server process id while it runs (benchmarks pin it to a core). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<string> {
    const logger = this.options.logger;
    const binary = await ensureLocalDatabaseBinary(logger && ((message) => logger.info(message)));
    await mkdir(this.options.dataDir, { recursive: true });
    this.stopping = false;
    const child = spawn(
      binary,
      [
        '-listen',
        `127.0.0.1:${this.port}`,
        '-dir',
        this.options.dataDir,
        '-exit-on-stdin-eof',
        '-log-level',
        'error',
      ],
      // stdin stays open as a lifeline: when this process dies, the child sees EOF and stops.
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4_000);
    });

    const ready = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new LocalDatabaseUnavailableError('the local database did not start in time')),
        START_TIMEOUT_MS,
      );
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        const match = /^READY mongodb:\/\/127\.0\.0\.1:(\d+)\//.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(
          new LocalDatabaseUnavailableError(
            `the local database exited during start (code ${code}): ${stderr.trim()}`,
          ),
        );
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new LocalDatabaseUnavailableError(`the local database failed to start: ${error}`));
      });
    });

    this.port = Number(await ready);
    child.once('exit', (code, signal) => this.onExit(child, code, signal, stderr));
    return this.url;
  }

  private onExit(child: ChildProcess, code: number | null, signal: string | null, stderr: string) {
    if (this.child === child) this.child = null;
    if (this.stopping || !this.options.restartOnCrash) return;
    this.options.logger?.warn(
      { code, signal, stderr: stderr.trim().slice(-500) },
      'the local database stopped unexpectedly; starting it again',
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.start().catch((error) =>
        this.options.logger?.error({ err: error }, 'the local database could not be restarted'),
      );
    }, RESTART_DELAY_MS);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child) return;
    this.child = null;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  /** Simulates a crash (tests): the process is killed without a clean shutdown. */
  kill(): void {
    this.child?.kill('SIGKILL');
  }
}
