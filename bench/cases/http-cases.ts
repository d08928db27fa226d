import { fetchBody, measureHttp } from '../lib/http-load';
import {
  startBaseline,
  startSubject,
  SECRET_KEY,
  type Bench,
  type CaseResult,
} from '../lib/context';
import { createBenchApp } from '../lib/in-process';

const PROVIDERS = JSON.stringify({ query: '{ llmProviders { llm models defaultModel } }' });
const HELLO = JSON.stringify({ query: '{ hello }' });
const ME = JSON.stringify({
  query: '{ me { id email firstName lastName emailVerified metadata createdAt updatedAt } }',
});
const CHATS = JSON.stringify({
  query:
    '{ chats(limit: 20) { totalCount nodes { id title messageCount updatedAt messages(limit: 1) { id role content } } } }',
});
const CSRF_SAFE = { 'apollo-require-preflight': 'true' };
const CONNECTIONS = 32;
const SECONDS = 5;

export async function providersCase(bench: Bench): Promise<CaseResult> {
  const baseline = await startBaseline('b-apollo');
  const base = await measureHttp(
    {
      url: `http://127.0.0.1:${baseline.port}/`,
      body: HELLO,
      connections: CONNECTIONS,
      seconds: SECONDS,
      expectBody: await fetchBody(`http://127.0.0.1:${baseline.port}/`, HELLO),
    },
    bench.quick,
  );
  await baseline.stop();
  const subject = await startSubject(bench);
  const url = `http://127.0.0.1:${subject.port}/graphql`;
  const result = await measureHttp(
    {
      url,
      body: PROVIDERS,
      headers: CSRF_SAFE,
      connections: CONNECTIONS,
      seconds: SECONDS,
      expectBody: await fetchBody(url, PROVIDERS),
    },
    bench.quick,
  );
  await subject.stop();
  const ratio = result.rps / base.rps;
  const p99Ratio = result.p99 / Math.max(base.p99, 1);
  return {
    case: 'providers',
    measure: 'llmProviders req/s (p99 ms)',
    unit: 'req/s',
    subject: result.rps,
    baseline: base.rps,
    ratio,
    target: '≥ 0.60× B-apollo; p99 ≤ 2×',
    pass: ratio >= 0.6 && p99Ratio <= 2,
    errors: result.errors + base.errors,
    details: { subjectP99: result.p99, baselineP99: base.p99, p99Ratio },
  };
}

async function dbCase(bench: Bench, name: 'me' | 'chats'): Promise<CaseResult> {
  const [user] = await bench.seeder.users(1, `http-${name}`);
  if (name === 'chats') await bench.seeder.chats(user!.id, 30);
  const auth = { authorization: `Bearer ${user!.token}` };
  const baseline = await startBaseline('b-db', {
    MONGODB_URL: bench.dbUrl,
    DATABASE_NAME: bench.dbName,
    SECRET_KEY,
  });
  const baseUrl = `http://127.0.0.1:${baseline.port}/${name}`;
  const base = await measureHttp(
    {
      url: baseUrl,
      body: '{}',
      headers: auth,
      connections: CONNECTIONS,
      seconds: SECONDS,
      expectBody: await fetchBody(baseUrl, '{}', auth),
    },
    bench.quick,
  );
  await baseline.stop();
  const subject = await startSubject(bench);
  const url = `http://127.0.0.1:${subject.port}/graphql`;
  const body = name === 'me' ? ME : CHATS;
  const result = await measureHttp(
    {
      url,
      body,
      headers: { ...auth, ...CSRF_SAFE },
      connections: CONNECTIONS,
      seconds: SECONDS,
      expectBody: await fetchBody(url, body, auth),
    },
    bench.quick,
  );
  await subject.stop();
  const ratio = result.rps / base.rps;
  const p99Ratio = result.p99 / Math.max(base.p99, 1);
  const details: Record<string, unknown> = {
    subjectP99: result.p99,
    baselineP99: base.p99,
    p99Ratio,
  };
  let pass = name === 'me' ? ratio >= 0.8 && p99Ratio <= 2 : ratio >= 0.7;
  if (name === 'chats') {
    const counts = await commandsPerChatsPage(bench);
    details.commandsPerPage = counts;
    pass = pass && counts[5] === counts[20] && counts[20] === counts[50];
  }
  return {
    case: name,
    measure: name === 'me' ? 'authenticated me req/s' : 'chats(limit: 20) page req/s',
    unit: 'req/s',
    subject: result.rps,
    baseline: base.rps,
    ratio,
    target: name === 'me' ? '≥ 0.80× B-db; p99 ≤ 2×' : '≥ 0.70× B-db; commands equal for 5/20/50',
    pass,
    errors: result.errors + base.errors,
    details,
  };
}

export const meCase = (bench: Bench) => dbCase(bench, 'me');
export const chatsCase = (bench: Bench) => dbCase(bench, 'chats');

/**
 * Database commands per chats page of 5, 20 and 50 (besides the session check), counted by
 * command monitoring in process.
 */
async function commandsPerChatsPage(bench: Bench): Promise<Record<number, number>> {
  const app = await createBenchApp(bench);
  try {
    const [user] = await bench.seeder.users(1, 'count');
    await bench.seeder.chats(user!.id, 50);
    // On the local database a user's first list reads their chat ids once and keeps the ended
    // messages it reads (ChatIdsByUser, SettledMessages): what is compared is every later page.
    await fetchBody(app.url, CHATS.replace('limit: 20', 'limit: 50'), {
      authorization: `Bearer ${user!.token}`,
    });
    const counts: Record<number, number> = {};
    for (const limit of [5, 20, 50]) {
      const query = CHATS.replace('limit: 20', `limit: ${limit}`);
      // The page's own commands: the session read is remembered for a few seconds
      // (LiveSessionCache), so whether it shows depends only on timing, not on page size.
      const names = await app.commands(() =>
        fetchBody(app.url, query, { authorization: `Bearer ${user!.token}` }),
      );
      counts[limit] = names.filter((name) => name !== 'find sessions').length;
    }
    return counts;
  } finally {
    await app.stop();
  }
}
