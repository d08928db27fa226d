import {
  freezeReaders,
  inspectorUrlOf,
  manyOperationsDocument,
  postUndeclaredVariables,
  RawSocket,
  rssAfterIdle,
  sendAliasFloods,
  type SocketTarget,
} from '../../test/helpers/hostile-clients';
import { graphql, SEND, startSubject, type Bench, type CaseResult } from '../lib/context';
import { cpuSeconds } from '../lib/processes';

const MB = 1024 * 1024;
const IDLE_MS = 2_000;

/** Requests whose answers were not the code each attack must get (the case's error count). */
const unexpected = (codes: Record<string, number>, expected: string) =>
  Object.entries(codes).reduce((n, [code, count]) => (code === expected ? n : n + count), 0);

/** CPU milliseconds the server spends per request of `body`, sent one after another. */
async function cpuMsPerRequest(
  pid: number,
  url: string,
  body: string,
  requests: number,
  expectedCode: string,
): Promise<{ ms: number; errors: number }> {
  let errors = 0;
  const started = cpuSeconds(pid);
  for (let r = 0; r < requests; r += 1) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const answer = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    if ((answer.errors?.[0]?.extensions?.code ?? 'OK') !== expectedCode) errors += 1;
  }
  return { ms: ((cpuSeconds(pid) - started) * 1000) / requests, errors };
}

/** Waits until a reply has streamed to its end, over a socket of its own. */
async function awaitReply(target: SocketTarget, messageId: string): Promise<void> {
  const socket = await RawSocket.open(target);
  try {
    socket.subscribe('1', 'subscription($id: ID!) { messageStream(messageId: $id) { done } }', {
      id: messageId,
    });
    for (;;) {
      const frame = await socket.next(30_000);
      if (frame.type === 'complete') return;
      if (frame.type === 'error') throw new Error(JSON.stringify(frame.payload));
    }
  } finally {
    socket.close();
  }
}

/**
 * What one hostile client costs the built server (issue 16): memory it keeps after each attack
 * of the black-box review (RSS after a rest and a full collection forced over the inspector,
 * minus RSS before), and CPU for a 600 KB document of 20,000 operations against a
 * `{ __typename }` measured in the same run. Before the fixes: +1.0 GB (alias floods, before a
 * collection), +114 MB (undeclared variables), +80 MB (frozen readers), 480 ms per request.
 */
export async function hostileCases(bench: Bench): Promise<CaseResult[]> {
  const [user] = await bench.seeder.users(1, 'hostile');
  const subject = await startSubject(bench, { NODE_OPTIONS: '--inspect=127.0.0.1:0' });
  try {
    const inspector = inspectorUrlOf(subject.output.join('').split('\n'));
    const url = `http://127.0.0.1:${subject.port}/graphql`;
    const target: SocketTarget = {
      wsUrl: `ws://127.0.0.1:${subject.port}/graphql`,
      accessToken: user!.token,
    };
    const retained = async (attack: () => Promise<number>) => {
      await attack(); // warm-up: what any first use allocates is not kept per attack
      const before = await rssAfterIdle(subject.pid, 500, inspector);
      const errors = await attack();
      const after = await rssAfterIdle(subject.pid, IDLE_MS, inspector);
      return { mb: (after - before) / MB, errors };
    };
    const scale = bench.quick ? 0.1 : 1;

    const aliasDocuments = Math.round(200 * scale);
    const aliases = await retained(async () =>
      unexpected(
        await sendAliasFloods(target, { documents: aliasDocuments, aliases: 5_800 }),
        'QUERY_TOO_COMPLEX',
      ),
    );

    const variableRequests = Math.round(150 * scale);
    const variables = await retained(async () =>
      unexpected(
        await postUndeclaredVariables(url, { requests: variableRequests, bytes: 900_000 }),
        'OK', // ignored, as the spec says: the document runs
      ),
    );

    bench.upstream.enqueue({
      chunks: Array.from(
        { length: 128 },
        (_, i) => `${String(i).padStart(4, '0')}${'x'.repeat(1020)}`,
      ),
    });
    const { sendMessage } = await graphql(subject.port, user!.token, SEND, {
      input: { prompt: 'a long one' },
    });
    const messageId = sendMessage.assistantMessage.id as string;
    await awaitReply(target, messageId);
    let frozenRss = 0;
    const readersBefore = await rssAfterIdle(subject.pid, 500, inspector);
    const codes = await freezeReaders(target, messageId, {
      sockets: 10,
      subscriptions: 100,
      frozenMs: bench.quick ? 3_000 : 8_000,
      graceMs: 5_000,
      whileFrozen: async () => {
        frozenRss = await rssAfterIdle(subject.pid, 0, inspector);
      },
    });
    const readersErrors = codes.filter((code) => code !== 1013 && code !== 1006).length;
    const readersMb = (frozenRss - readersBefore) / MB;

    const requests = bench.quick ? 5 : 40;
    const typename = await cpuMsPerRequest(
      subject.pid,
      url,
      JSON.stringify({ query: '{ __typename }' }),
      requests,
      'OK',
    );
    const huge = await cpuMsPerRequest(
      subject.pid,
      url,
      JSON.stringify({ query: manyOperationsDocument(20_000) }),
      requests,
      'QUERY_TOO_COMPLEX',
    );

    const memoryRow = (
      name: string,
      measure: string,
      mb: number,
      bound: number,
      errors: number,
    ): CaseResult => ({
      case: name,
      measure,
      unit: 'MB',
      subject: mb,
      baseline: null,
      ratio: null,
      target: `< ${bound} MB`,
      pass: mb < bound,
      errors,
    });
    return [
      memoryRow(
        'hostile-aliases',
        `RSS kept after ${aliasDocuments} refused 97 KB alias floods on one socket (was +1.0 GB)`,
        aliases.mb,
        15,
        aliases.errors,
      ),
      memoryRow(
        'hostile-variables',
        `RSS kept after ${variableRequests} × 0.9 MB undeclared variables, signed out (was +114 MB)`,
        variables.mb,
        30,
        variables.errors,
      ),
      memoryRow(
        'hostile-readers',
        'RSS held by 10 frozen sockets × 100 replays of 128 KB (was +80 MB)',
        readersMb,
        30,
        readersErrors,
      ),
      {
        case: 'hostile-parse',
        measure: 'CPU ms per request: 600 KB of 20,000 operations vs { __typename } (was 480 ms)',
        unit: 'ms',
        subject: huge.ms,
        baseline: typename.ms,
        ratio: typename.ms > 0 ? huge.ms / typename.ms : null, // 0 below the 10 ms CPU tick (quick)
        target: '≤ 20 ms',
        pass: huge.ms <= 20,
        errors: typename.errors + huge.errors,
      },
    ];
  } finally {
    await subject.stop();
  }
}
