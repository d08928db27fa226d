import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/**
 * The system programs that `npm test` and `npm run bench` start besides Node and Go: a fresh
 * machine of this project's kind (Debian, root) lacks them, so the run installs them itself
 * with apt-get, saying so in one line. Where it cannot (not root, no apt-get), it stops at once
 * with the command to run, instead of each test timing out on a missing program.
 */
export interface SystemPackage {
  /** The program the tests start. */
  command: string;
  /** Debian's package that provides it. */
  debian: string;
  /** Who needs it, for the message. */
  neededBy: string;
}

export const SYSTEM_PACKAGES: readonly SystemPackage[] = [
  { command: 'redis-server', debian: 'redis-server', neededBy: 'the multi-instance tests' },
  { command: 'haproxy', debian: 'haproxy', neededBy: 'the load-balancer test' },
  {
    command: process.env.CHROMIUM_PATH ?? 'chromium',
    debian: 'chromium',
    neededBy: 'the browser tests',
  },
];

function onPath(command: string): boolean {
  const candidates = command.includes('/')
    ? [command]
    : (process.env.PATH ?? '').split(path.delimiter).map((dir) => path.join(dir, command));
  return candidates.some((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function missingSystemPackages(
  packages: readonly SystemPackage[] = SYSTEM_PACKAGES,
): SystemPackage[] {
  return packages.filter((entry) => !onPath(entry.command));
}

/** Installs what is missing (root on Debian), or throws with the exact command to run. */
export function ensureSystemPackages(
  packages: readonly SystemPackage[] = SYSTEM_PACKAGES,
  say: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): void {
  const missing = missingSystemPackages(packages);
  if (missing.length === 0) return;
  const names = missing.map((entry) => entry.debian);
  const install = `apt-get install -y ${names.join(' ')}`;
  const why = missing.map((entry) => `${entry.debian} for ${entry.neededBy}`).join(', ');
  const canInstall = process.getuid?.() === 0 && onPath('apt-get');
  if (!canInstall) {
    throw new Error(
      `Missing system packages: ${why}. Install them, then run the tests again: ` +
        `sudo apt-get update && sudo ${install}`,
    );
  }
  say(`Installing missing Debian packages (${why}): apt-get update && ${install}`);
  const started = Date.now();
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', ...names],
  ]) {
    // apt's own output is long; it is shown only when a step fails.
    const run = spawnSync('apt-get', args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (run.status !== 0) {
      throw new Error(
        `apt-get ${args.join(' ')} failed (exit ${run.status}):\n${run.stdout}\n${run.stderr}`,
      );
    }
  }
  const still = missingSystemPackages(missing);
  if (still.length > 0) {
    throw new Error(
      `Installed ${names.join(' ')}, but ${still.map((e) => e.command).join(', ')} is still not found`,
    );
  }
  say(`Installed ${names.join(' ')} in ${Math.round((Date.now() - started) / 1000)} s`);
}
