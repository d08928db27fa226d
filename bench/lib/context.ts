import type { FakeOpenAi } from '../../test/helpers/fake-openai';
import type { Seeder } from './seed';
import { startNode, type RunningProcess } from './processes';

export const SECRET_KEY = 'bench-secret-key-that-is-long-enough-for-production-0123';

export interface CaseResult {
  case: string;
  measure: string;
  unit: string;
  subject: number;
  baseline: number | null;
  /** subject / baseline, or null when the target is absolute. */
  ratio: number | null;
  target: string;
  pass: boolean;
  errors: number;
  details?: Record<string, unknown>;
}

export interface Bench {
  quick: boolean;
  dbUrl: string;
  dbName: string;
  upstream: FakeOpenAi;
  seeder: Seeder;
  subjectEnv: Record<string, string>;
}

/**
 * The real built server (`node dist/main.js`), production mode, logs at warn, on core 0.
 * BENCH_SUBJECT_MAIN names another build's entry instead (a worktree of an earlier commit),
 * for before/after figures measured by the same harness in the same run.
 */
export function startSubject(
  bench: Bench,
  env: Record<string, string> = {},
  options: { pinned?: boolean } = {},
): Promise<RunningProcess> {
  const main = process.env.BENCH_SUBJECT_MAIN ?? 'dist/main.js';
  return startNode(main, { ...bench.subjectEnv, ...env }, options);
}

export function startBaseline(
  name: string,
  env: Record<string, string> = {},
): Promise<RunningProcess> {
  return startNode(`bench/baselines/${name}.js`, env);
}

export async function graphql(
  port: number,
  token: string | null,
  query: string,
  variables?: Record<string, unknown>,
) {
  const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
  return body.data;
}

export const SEND =
  'mutation($input: SendMessageInput!) { sendMessage(input: $input) { chat { id } assistantMessage { id } } }';
