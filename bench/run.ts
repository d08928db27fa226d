/**
 * `npm run bench`: measures the built server against bare baselines in one run and prints one
 * table (subject, baseline, ratio, target, pass/miss). `--only NAME` runs one case; `--quick`
 * runs each for about 2 seconds, to prove the harness works (CI), not to judge speed.
 * Raw numbers go to bench/results/latest.json; a full run also rewrites bench/RESULTS.md.
 */
// First: an older Node stops here with one line (src/config/node-version.ts).
import '../src/config/node-version';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir, readFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { LocalDatabaseServer } from '../src/db/local-server';
import { FakeOpenAi } from '../test/helpers/fake-openai';
import { chatsCase, meCase, providersCase } from './cases/http-cases';
import { hostileCases } from './cases/hostile-cases';
import { jobCases } from './cases/job-case';
import { growthCase } from './cases/growth-case';
import { soakCase } from './cases/soak-case';
import { toolsCase } from './cases/tools-case';
import { tracingCases } from './cases/tracing-case';
import { budgetCase } from './cases/budget-case';
import { loginCase, subscribeCase } from './cases/other-cases';
import {
  capacityCase,
  clusterCases,
  idleSubCase,
  tokenCases,
  writesCase,
} from './cases/stream-cases';
import { SECRET_KEY, type Bench, type CaseResult } from './lib/context';
import { canPin, LOAD_CORE, pin, ROOT } from './lib/processes';
import { Seeder } from './lib/seed';

type CaseRunner = (bench: Bench) => Promise<CaseResult | CaseResult[]>;

const CASES: Record<string, { names: string[]; run: CaseRunner }> = {
  providers: { names: ['providers'], run: providersCase },
  me: { names: ['me'], run: meCase },
  chats: { names: ['chats'], run: chatsCase },
  token: { names: ['token-cpu', 'token-latency'], run: tokenCases },
  tracing: { names: ['tracing-on-cpu', 'tracing-sampled-off-cpu'], run: tracingCases },
  cluster: { names: ['redis-token-cpu', 'follower-latency'], run: clusterCases },
  job: { names: ['job', 'job-follow-up'], run: jobCases },
  tools: { names: ['tools'], run: toolsCase },
  budget: { names: ['budget-send-cpu'], run: budgetCase },
  capacity: { names: ['capacity', 'coalesce-idle'], run: capacityCase },
  growth: { names: ['growth', 'growth-list'], run: growthCase },
  writes: { names: ['writes'], run: writesCase },
  'idle-sub': { names: ['idle-sub'], run: idleSubCase },
  login: { names: ['login'], run: loginCase },
  subscribe: { names: ['subscribe'], run: subscribeCase },
  soak: {
    names: ['soak-stop', 'soak-send', 'soak-rate', 'soak-integrity', 'soak-rss'],
    run: soakCase,
  },
  hostile: {
    names: ['hostile-aliases', 'hostile-variables', 'hostile-readers', 'hostile-parse'],
    run: hostileCases,
  },
};

function parseArgs(argv: string[]) {
  const quick = argv.includes('--quick');
  const onlyIndex = argv.indexOf('--only');
  const only = onlyIndex >= 0 ? argv[onlyIndex + 1] : undefined;
  if (only && !Object.entries(CASES).some(([key, c]) => key === only || c.names.includes(only))) {
    throw new Error(
      `unknown case ${only}; cases: ${Object.values(CASES)
        .flatMap((c) => c.names)
        .join(', ')}`,
    );
  }
  return { quick, only };
}

const fmt = (value: number | null, digits = 2) =>
  value === null || Number.isNaN(value)
    ? '—'
    : value >= 100
      ? value.toFixed(0)
      : value.toFixed(digits);

function table(results: CaseResult[]): string {
  const header = ['case', 'measure', 'subject', 'baseline', 'ratio', 'target', 'result', 'errors'];
  const rows = results.map((r) => [
    r.case,
    r.measure,
    `${fmt(r.subject)} ${r.unit}`,
    r.baseline === null ? '—' : `${fmt(r.baseline)} ${r.unit}`,
    r.ratio === null ? '—' : `${fmt(r.ratio)}×`,
    r.target,
    r.pass ? 'pass' : 'MISS',
    String(r.errors),
  ]);
  return [header, header.map(() => '---'), ...rows]
    .map((row) => `| ${row.join(' | ')} |`)
    .join('\n');
}

function versions(): Record<string, string> {
  // Read from node_modules: some packages' `exports` maps hide their package.json.
  const of = (name: string) =>
    (
      JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  return Object.fromEntries(
    [
      'graphql',
      '@apollo/server',
      'type-graphql',
      'graphql-ws',
      'ws',
      'mongoose',
      'openai',
      'autocannon',
    ].map((n) => [n, of(n)]),
  );
}

async function main(): Promise<void> {
  const { quick, only } = parseArgs(process.argv.slice(2));
  pin(process.pid, LOAD_CORE);

  let local: LocalDatabaseServer | null = null;
  let dataDir: string | null = null;
  let dbUrl = process.env.MONGODB_URL;
  if (!dbUrl) {
    dataDir = await mkdtemp(path.join(tmpdir(), 'palaver-bench-db-'));
    local = new LocalDatabaseServer({ dataDir });
    dbUrl = await local.start();
    if (local.pid) pin(local.pid, LOAD_CORE);
  }
  const upstream = await FakeOpenAi.start();
  const results: CaseResult[] = [];
  try {
    for (const [key, spec] of Object.entries(CASES)) {
      if (only && key !== only && !spec.names.includes(only)) continue;
      const started = Date.now();
      process.stdout.write(`running ${key}… `);
      // A fresh database per case: FerretDB's scans slow down as collections grow, and one
      // case's data must not tax the next.
      const dbName = `palaver_bench_${key.replace(/\W/g, '_')}_${Date.now()}`;
      const subjectEnv = {
        NODE_ENV: 'production',
        MONGODB_URL: dbUrl,
        DATABASE_NAME: dbName,
        SECRET_KEY,
        LOG_LEVEL: 'warn',
        OPENAI_API_KEY: 'sk-bench',
        OPENAI_BASE_URL: upstream.baseUrl,
        OPENAI_MODELS: 'gpt-bench',
      };
      const seeder = await Seeder.open(subjectEnv, dbUrl, dbName);
      const bench: Bench = { quick, dbUrl, dbName, upstream, seeder, subjectEnv };
      try {
        const outcome = await spec.run(bench);
        const rows = Array.isArray(outcome) ? outcome : [outcome];
        results.push(...rows.filter((row) => !only || key === only || row.case === only));
        console.log(`${((Date.now() - started) / 1000).toFixed(1)} s`);
        for (const row of rows)
          console.log(
            `  ${row.case}: ${JSON.stringify({ ...row, case: undefined, measure: undefined })}`,
          );
      } catch (error) {
        console.log('failed');
        console.error(error);
        for (const name of spec.names) {
          results.push({
            case: name,
            measure: `failed: ${(error as Error).message}`,
            unit: '',
            subject: NaN,
            baseline: null,
            ratio: null,
            target: '',
            pass: false,
            errors: 1,
          });
        }
      } finally {
        await seeder.database.connection.dropDatabase().catch(() => undefined);
        await seeder.close();
      }
    }
  } finally {
    await upstream.stop();
    await local?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }

  const report = table(results);
  console.log(`\n${report}\n`);
  const meta = {
    date: new Date().toISOString(),
    quick,
    only: only ?? null,
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    pinned: canPin(),
    database: process.env.MONGODB_URL ? 'MONGODB_URL' : 'local FerretDB 1.24 (SQLite)',
    versions: versions(),
  };
  await mkdir(path.join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(
    path.join(ROOT, 'bench', 'results', 'latest.json'),
    JSON.stringify({ meta, results }, null, 2),
  );
  if (!quick && !only) {
    const file = path.join(ROOT, 'bench', 'RESULTS.md');
    const previous = await readFile(file, 'utf8').catch(() => '');
    await writeFile(file, resultsMarkdown(meta, report, keptSections(previous)));
  }

  const broken = results.filter((r) => r.errors > 0 || Number.isNaN(r.subject));
  if (broken.length > 0) {
    console.error(`cases with errors: ${broken.map((r) => r.case).join(', ')}`);
    process.exit(1);
  }
  if (quick)
    console.log('quick run: every case ran with 0 errors (timings in quick mode are not judged)');
}

/**
 * The sections of RESULTS.md below the table (each from a line starting with `## `): the
 * history of single cases and earlier figures, which a full run keeps after its own table.
 */
function keptSections(previous: string): string {
  const start = previous.search(/^## /m);
  return start < 0 ? '' : `\n${previous.slice(start).trimEnd()}\n`;
}

function resultsMarkdown(meta: Record<string, unknown>, report: string, kept: string): string {
  return `# Benchmark results

The last full \`npm run bench\` on ${String(meta.date).slice(0, 10)}: ${String(meta.cpu)}, ${String(meta.cores)} cores,
Node ${String(meta.node)}, database: ${String(meta.database)}. The server under test runs on one core
(\`taskset -c 0\`, production mode, logs at warn); load generators, the fake OpenAI upstream and
the database on the other (the login case gives the server both cores). Each HTTP figure is the
median of 3 runs after a warm-up, stream cases run a warm-up round first, and every response is
checked. Raw numbers: \`bench/results/latest.json\` (not committed). What the profiles show for
each miss, and what was fixed: [\`FINDINGS.md\`](FINDINGS.md).

${report}

The database-bound cases (me, chats) are judged against B-db on the same database server with
the same pool setting, which isolates Palaver's own cost. On the local FerretDB every command
costs about a millisecond and any filter but \`{ _id }\` reads its whole collection; on MongoDB
the absolute figures will be far higher and the ratios will differ. This machine is shared and
noisy: single rounds of the token and subscribe cases moved by ±0.2 between runs of the same
code, so the stream cases alternate rounds with their baseline and report medians.
${kept}`;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
