import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { MINIMUM_NODE_MAJOR, unsupportedNodeMessage } from '../src/config/node-version';
import { ensureSystemPackages } from './helpers/system-packages';

const ROOT = path.resolve(__dirname, '..');
const MAIN = path.join(ROOT, 'dist', 'main.js');

/** Node executables on PATH other than the project's own, with their versions. */
function otherNodes(): { binary: string; version: string }[] {
  const found: { binary: string; version: string }[] = [];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir || dir.includes('node_modules')) continue;
    const binary = path.join(dir, 'node');
    try {
      accessSync(binary, constants.X_OK);
      const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim().slice(1);
      if (!found.some((other) => other.version === version)) found.push({ binary, version });
    } catch {
      // not there, or not runnable
    }
  }
  return found;
}

describe('the platform', () => {
  it(`should run the tests on Node ${MINIMUM_NODE_MAJOR} or newer, the Node npm install provides`, () => {
    expect(unsupportedNodeMessage()).toBeNull();
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(MINIMUM_NODE_MAJOR);
  });

  it('should name the Node it needs and how to get it when the version is older', () => {
    expect(unsupportedNodeMessage('20.20.2')).toMatch(
      /needs Node 24 or newer.*Node 20\.20\.2.*npm/,
    );
    expect(unsupportedNodeMessage('22.12.0')).not.toBeNull();
    expect(unsupportedNodeMessage('24.11.0')).toBeNull();
    expect(unsupportedNodeMessage('26.1.0')).toBeNull();
  });

  const older = otherNodes().find(
    ({ version }) => Number(version.split('.')[0]) < MINIMUM_NODE_MAJOR,
  );
  if (!older) {
    console.warn(
      `older-Node start test skipped: no Node older than ${MINIMUM_NODE_MAJOR} on PATH outside node_modules`,
    );
  }
  (older ? it : it.skip)(
    `should refuse to start on an older Node (${older?.version ?? 'none found'}) with one line and exit 1`,
    async () => {
      const child = spawn(older!.binary, [MAIN], {
        env: { PATH: process.env.PATH ?? '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
      const code = await new Promise((resolve) => child.once('exit', resolve));
      expect(code).toBe(1);
      const lines = output.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`needs Node ${MINIMUM_NODE_MAJOR} or newer`);
      expect(lines[0]).toContain(older!.version);
    },
  );

  it('should stop at once with the command to run when it cannot install a missing program', () => {
    const savedPath = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      expect(() =>
        ensureSystemPackages([
          { command: 'palaver-missing-program', debian: 'palaver-pkg', neededBy: 'a test' },
        ]),
      ).toThrow(/palaver-pkg for a test.*apt-get install -y palaver-pkg/);
    } finally {
      process.env.PATH = savedPath;
    }
  });
});

describe('the advisory check in .ci/run', () => {
  let dir: string;
  /** The check as .ci/run runs it, on the given data folder and lock file. */
  const runCheck = (data: string, lockFile?: string) =>
    spawnSync(
      process.execPath,
      [
        path.join(ROOT, '.ci', 'advisories.mjs'),
        '--data',
        data,
        ...(lockFile ? ['--lock', lockFile] : []),
      ],
      { encoding: 'utf8' },
    );
  const check = async (lock: object) => {
    const lockFile = path.join(dir, `lock-${Math.random()}.json`);
    await writeFile(lockFile, JSON.stringify(lock));
    return runCheck(dir, lockFile);
  };
  const lockOf = (packages: Record<string, object>) => ({
    lockfileVersion: 3,
    packages: { '': { name: 'app' }, ...packages },
  });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'palaver-advisories-'));
    // The shape the snapshot has: ranges (introduced/fixed or last_affected) or exact versions.
    const filler = Array.from({ length: 1_000 }, (_, i) => ({
      id: `FILLER-${i}`,
      name: `filler-${i}`,
      introduced: '0',
      fixed: '1.0.0',
    }));
    const records = [
      ...filler,
      {
        id: 'GHSA-2x7j-588g-ccc2',
        name: 'nodemailer',
        introduced: '0',
        fixed: '9.1.0',
        severity: 'high',
        summary: 'addressparser DoS',
      },
      {
        id: 'GHSA-last',
        name: 'left-pad',
        introduced: '1.1.0',
        last_affected: '1.2.0',
        severity: 'critical',
      },
      { id: 'MAL-1', name: 'evil', versions: ['2.0.5'], malicious: true },
    ];
    await writeFile(path.join(dir, 'advisories-npm.json.gz'), gzipSync(JSON.stringify(records)));
    await writeFile(
      path.join(dir, 'advisories-meta.json'),
      JSON.stringify({ built_at: new Date().toISOString() }),
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('should fail on a production package inside an affected range, naming it and the advisory', async () => {
    const run = await check(
      lockOf({
        'node_modules/nodemailer': { version: '7.0.13' },
        'node_modules/a/node_modules/left-pad': { version: '1.2.0' },
        'node_modules/evil': { version: '2.0.5' },
      }),
    );
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('VULNERABLE nodemailer@7.0.13 GHSA-2x7j-588g-ccc2 [HIGH]');
    expect(run.stdout).toContain('VULNERABLE left-pad@1.2.0 GHSA-last [CRITICAL]');
    expect(run.stdout).toContain('VULNERABLE evil@2.0.5 MAL-1 [MALICIOUS]');
  });

  it('should pass fixed versions, versions outside a range, dev-only packages, and read aliases by their real name', async () => {
    const run = await check(
      lockOf({
        'node_modules/nodemailer': { version: '9.1.0' },
        'node_modules/left-pad': { version: '1.2.1' },
        'node_modules/b/node_modules/left-pad': { version: '1.0.9' },
        'node_modules/evil': { version: '2.0.6' },
        'node_modules/mailer-for-tests': { version: '7.0.13', dev: true, name: 'nodemailer' },
        'node_modules/padder': { version: '1.1.5', name: 'left-pad' },
      }),
    );
    expect(run.stdout).toContain('VULNERABLE left-pad@1.1.5 GHSA-last');
    expect(run.stdout.match(/VULNERABLE/g)).toHaveLength(1);
    expect(run.status).toBe(1);
  });

  it('should refuse to pass when its data is missing, rather than check nothing', async () => {
    const run = runCheck(path.join(dir, 'absent'));
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('cannot read the advisory data');
  });
});
