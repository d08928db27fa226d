import { setTimeout as sleep } from 'node:timers/promises';
import { startSubject, type Bench, type CaseResult } from '../lib/context';
import { createBenchApp } from '../lib/in-process';
import { rssBytes } from '../lib/processes';
import { ScriptedUpstream } from '../lib/scripted-upstream';
import type { SeededUser } from '../lib/seed';
import { percentile } from '../lib/stats';
import { nowMs, StreamClient, type ReplyCollector, type StreamFrame } from '../lib/ws-load';

/**
 * The soak (issue 39): `users` users for `minutes` on one server, as an outside probe found
 * them. Every option has an environment variable, its default beside it:
 * - BENCH_SOAK_USERS (60; 10 in --quick), BENCH_SOAK_MINUTES (4; 0.5 in --quick);
 * - BENCH_SOAK_REPLY_MS (1200): how long each reply streams, a chunk every CHUNK_INTERVAL_MS;
 * - BENCH_SOAK_THINK_MS (4000): a user's pause between two turns, a random share of it more;
 * - BENCH_SOAK_IDLE_S (60; 5 in --quick): how long the server idles before RSS is read again;
 * - BENCH_SOAK_PROFILE=1: the server runs in this process instead (unpinned, beside the load),
 *   with the driver's command monitoring, and the report says where the one connection's time
 *   went: each kind of command (name, collection, the filter's fields), its count and time.
 */
const CHUNK_INTERVAL_MS = 20;
/** One reply in DROP_EVERY loses its socket mid-reply and resumes on a new one with `after`. */
const DROP_EVERY = 4;
/** One reply in STOP_EVERY is stopped by its user mid-reply. */
const STOP_EVERY = 10;
/** One turn in REGENERATE_EVERY asks for another reply to the last prompt instead of a new one. */
const REGENERATE_EVERY = 5;
/** A user's chat gets this many prompts before the user starts a new chat. */
const PROMPTS_PER_CHAT = 6;
/** How often a user swaps its refresh token for a new pair (refreshSession). */
const REFRESH_EVERY_MS = 30_000;
/** A reply not done by then fails its check (the bench must not hang on one). */
const REPLY_TIMEOUT_MS = 60_000;
/** RSS after idling may be at most this many times RSS at the start of load. */
const RSS_IDLE_TARGET = 1.2;
/** How often RSS is sampled for its peak. */
const RSS_SAMPLE_MS = 1_000;

const SEND =
  'mutation($input: SendMessageInput!) { sendMessage(input: $input) { chat { id } assistantMessage { id } } }';
const REGENERATE =
  'mutation($input: RegenerateReplyInput!) { regenerateReply(input: $input) { chat { id } assistantMessage { id } } }';
const STOP = 'mutation($id: ID!) { stopGeneration(messageId: $id) { id status content } }';
const CHATS = 'query { chats(limit: 20) { totalCount nodes { id title messageCount } } }';
const CHAT = 'query($id: ID!) { chat(id: $id) { id messages(limit: 10) { id status content } } }';
const REFRESH =
  'mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken refreshToken } }';

interface SoakOptions {
  users: number;
  minutes: number;
  replyMs: number;
  thinkMs: number;
  idleSeconds: number;
  /** The length of one bucket of the per-minute figures (a minute; 10 s in --quick). */
  windowMs: number;
}

function soakOptions(quick: boolean): SoakOptions {
  const env = (name: string, full: number, brief: number) =>
    Number(process.env[name] ?? (quick ? brief : full));
  return {
    users: env('BENCH_SOAK_USERS', 60, 10),
    minutes: env('BENCH_SOAK_MINUTES', 4, 0.5),
    replyMs: env('BENCH_SOAK_REPLY_MS', 1_200, 1_200),
    thinkMs: env('BENCH_SOAK_THINK_MS', 4_000, 2_000),
    idleSeconds: env('BENCH_SOAK_IDLE_S', 60, 5),
    windowMs: quick ? 10_000 : 60_000,
  };
}

/** The server the users load: the built subject, or the app in this process when profiling. */
interface SoakServer {
  port: number;
  pid: number;
  stop(): Promise<void>;
  /** With BENCH_SOAK_PROFILE: the database's time by kind of command, largest first. */
  profile?(): Array<{ command: string; count: number; ms: number }>;
}

async function startSoakServer(bench: Bench, env: Record<string, string>): Promise<SoakServer> {
  if (process.env.BENCH_SOAK_PROFILE !== '1') return startSubject(bench, env);
  const app = await createBenchApp(bench, env);
  const client = app.database.connection.getClient();
  const started = new Map<number, { key: string; at: number }>();
  const totals = new Map<string, { count: number; ms: number }>();
  client.on('commandStarted', (event) => {
    const { commandName: name, command } = event;
    const collection = typeof command[name] === 'string' ? (command[name] as string) : '';
    const filter =
      command.filter ??
      command.query ??
      (command.updates as Array<{ q: object }> | undefined)?.[0]?.q ??
      (command.deletes as Array<{ q: object }> | undefined)?.[0]?.q;
    const shape = filter ? `{${Object.keys(filter as object).join(',')}}` : '';
    const stage =
      name === 'aggregate' ? JSON.stringify(Object.keys(command.pipeline?.[0] ?? {})) : '';
    started.set(event.requestId, { key: `${name} ${collection} ${shape}${stage}`, at: nowMs() });
  });
  const ended = (event: { requestId: number }) => {
    const start = started.get(event.requestId);
    if (!start) return;
    started.delete(event.requestId);
    const total = totals.get(start.key) ?? { count: 0, ms: 0 };
    total.count += 1;
    total.ms += nowMs() - start.at;
    totals.set(start.key, total);
  };
  client.on('commandSucceeded', ended);
  client.on('commandFailed', ended);
  return {
    port: app.port,
    pid: process.pid,
    stop: () => app.stop(),
    profile: () =>
      [...totals]
        .map(([command, { count, ms }]) => ({ command, count, ms: Math.round(ms) }))
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 15),
  };
}

/** What the users saw, for the report. */
class Tally {
  readonly sends: Array<{ at: number; ms: number }> = [];
  readonly stops: number[] = [];
  /** Stops whose reply had already ended when the stop arrived (its answer was COMPLETE). */
  lateStops = 0;
  readonly done: number[] = [];
  replies = 0;
  resumes = 0;
  regenerations = 0;
  lists = 0;
  reads = 0;
  refreshes = 0;
  /** The first failures, for the report. */
  readonly failures: string[] = [];
  /** Replies that failed a check, and calls that failed (an error answer, a lost socket). */
  failed = 0;

  fail(what: string): void {
    this.failed += 1;
    if (this.failures.length < 20) this.failures.push(what);
  }
}

/** A GraphQL call over HTTP; an `errors` answer is thrown with its codes. */
async function call<T = any>(
  port: number,
  token: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as {
    data?: T;
    errors?: Array<{ extensions?: { code?: string } }>;
  };
  if (body.errors) {
    throw new Error(`GraphQL ${body.errors.map((e) => e.extensions?.code).join(',')}`);
  }
  return body.data!;
}

/**
 * soak: 60 users for 4 minutes on one server (pinned to its core) and the local database:
 * each sends prompts whose replies stream for ~1.2 s, drops its socket mid-reply in a quarter
 * of them and resumes on a new socket with `after`, stops one in ten, asks for another reply
 * now and then, lists and reads its chats after each reply, and refreshes its session every
 * 30 s. Every reply is checked: seqs from 1 with no gap and no duplicate across the resume,
 * the streamed text equal to the done event's saved message and to what `chat` reads back.
 * Reports stop latency, send latency and replies/s per minute, and RSS at the start of load,
 * at its peak and after the server idled.
 */
export async function soakCase(bench: Bench): Promise<CaseResult[]> {
  const options = soakOptions(bench.quick);
  const chunks = Math.max(1, Math.round(options.replyMs / CHUNK_INTERVAL_MS));
  let served = 0;
  const upstream = await ScriptedUpstream.start(() => {
    served += 1;
    const reply = served;
    return {
      text: Array.from({ length: chunks }, (_, i) => `r${reply}.${i} `),
      delayMs: CHUNK_INTERVAL_MS,
    };
  });
  const subject = await startSoakServer(bench, { OPENAI_BASE_URL: upstream.baseUrl });
  const tally = new Tally();
  let measured: Awaited<ReturnType<typeof load>>;
  let profile: ReturnType<NonNullable<SoakServer['profile']>> | undefined;
  try {
    measured = await load(bench, subject, options, tally);
  } finally {
    profile = subject.profile?.();
    await subject.stop();
    await upstream.stop();
  }
  const { elapsedMs, rss } = measured;
  return report(tally, options, elapsedMs, rss, upstream.refusals.length, profile);
}

/** Runs the users to the end, then lets the server idle; RSS at the start, peak and after. */
async function load(bench: Bench, subject: SoakServer, options: SoakOptions, tally: Tally) {
  const users = await bench.seeder.users(options.users, `soak-${Date.now()}`);
  const start = rssBytes(subject.pid);
  let peak = start;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssBytes(subject.pid));
  }, RSS_SAMPLE_MS);
  const startedAt = nowMs();
  const until = startedAt + options.minutes * 60_000;
  try {
    await Promise.all(
      users.map((user, i) => runUser(subject, user, i, options, until, startedAt, tally)),
    );
  } finally {
    clearInterval(sampler);
  }
  const elapsedMs = nowMs() - startedAt;
  // V8 gives the load's garbage back some seconds after allocation calms (its memory reducer):
  // when RSS came back within the target is reported beside the figure at the end.
  let settledAfterS: number | null = null;
  for (let second = 1; second <= options.idleSeconds; second += 1) {
    await sleep(1_000);
    const now = rssBytes(subject.pid);
    if (settledAfterS === null && now <= start * RSS_IDLE_TARGET) settledAfterS = second;
  }
  const idle = rssBytes(subject.pid);
  return { elapsedMs, rss: { start, peak: Math.max(peak, idle), idle, settledAfterS } };
}

async function runUser(
  subject: SoakServer,
  user: SeededUser,
  index: number,
  options: SoakOptions,
  until: number,
  startedAt: number,
  tally: Tally,
): Promise<void> {
  const url = `ws://127.0.0.1:${subject.port}/graphql`;
  let token = user.token;
  let refreshToken = user.refreshToken;
  let refreshedAt = nowMs();
  let socket = await StreamClient.connect(url, token);
  let chatId: string | undefined;
  let promptsInChat = 0;
  let lastReply: string | undefined;
  // Users start spread over one think time, as real ones do.
  await sleep(Math.random() * options.thinkMs);
  for (let turn = index; nowMs() < until; turn += 1) {
    try {
      if (nowMs() - refreshedAt > REFRESH_EVERY_MS) {
        const data = await call(subject.port, token, REFRESH, { token: refreshToken });
        ({ accessToken: token, refreshToken } = data.refreshSession);
        refreshedAt = nowMs();
        tally.refreshes += 1;
      }
      const regenerate = lastReply !== undefined && turn % REGENERATE_EVERY === 0;
      if (!regenerate && promptsInChat >= PROMPTS_PER_CHAT) {
        chatId = undefined;
        promptsInChat = 0;
      }
      const sentAt = nowMs();
      const data = regenerate
        ? (await call(subject.port, token, REGENERATE, { input: { messageId: lastReply } }))
            .regenerateReply
        : (
            await call(subject.port, token, SEND, {
              input: { chatId, prompt: `soak prompt ${turn} of user ${index}` },
            })
          ).sendMessage;
      tally.sends.push({ at: sentAt - startedAt, ms: nowMs() - sentAt });
      if (regenerate) tally.regenerations += 1;
      else promptsInChat += 1;
      chatId = data.chat.id as string;
      const messageId = data.assistantMessage.id as string;
      const drop = turn % DROP_EVERY === 1;
      const stop = turn % STOP_EVERY === 3;
      const outcome = await followReply(subject, url, socket, token, messageId, {
        drop,
        stop,
        replyMs: options.replyMs,
        tally,
      });
      socket = outcome.socket;
      tally.done.push(nowMs() - startedAt);
      tally.replies += 1;
      lastReply = messageId;
      // What a client does after a reply: its list of chats, then the chat itself.
      await call(subject.port, token, CHATS);
      tally.lists += 1;
      const read = await call(subject.port, token, CHAT, { id: chatId });
      tally.reads += 1;
      const saved = (
        read.chat.messages as Array<{ id: string; content: string; status: string }>
      ).find((m) => m.id === messageId);
      if (saved?.content !== outcome.text) {
        tally.fail(
          `${messageId}: chat reads ${JSON.stringify(saved?.content?.slice(-20))}, streamed ${JSON.stringify(outcome.text.slice(-20))}`,
        );
      }
    } catch (error) {
      tally.fail(`user ${index}: ${(error as Error).message}`);
      if (process.env.BENCH_DEBUG) console.error(error);
    }
    await sleep(options.thinkMs * (0.75 + Math.random() * 0.5));
  }
  socket.close();
}

/**
 * Follows one reply to its end, dropping the socket mid-reply and resuming on a new one when
 * asked, and stopping it when asked. Returns the socket to use next and the streamed text,
 * once the frames pass their checks (a failure is tallied).
 */
async function followReply(
  subject: SoakServer,
  url: string,
  socket: StreamClient,
  token: string,
  messageId: string,
  plan: { drop: boolean; stop: boolean; replyMs: number; tally: Tally },
): Promise<{ socket: StreamClient; text: string }> {
  const { tally } = plan;
  let live: ReplyCollector | undefined;
  let first = socket.subscribeOnceToDone(messageId, undefined, (c) => (live = c));
  const frames: StreamFrame[] = [];
  let stopAnswer: { status: string; content: string } | undefined;
  const stopping = plan.stop
    ? (async () => {
        await sleep(plan.replyMs * (0.2 + Math.random() * 0.5));
        const stoppedAt = nowMs();
        const data = await call(subject.port, token, STOP, { id: messageId });
        tally.stops.push(nowMs() - stoppedAt);
        stopAnswer = data.stopGeneration;
        if (stopAnswer!.status !== 'STOPPED') tally.lateStops += 1;
      })()
    : Promise.resolve();
  if (plan.drop) {
    await sleep(plan.replyMs * (0.2 + Math.random() * 0.5));
    frames.push(...live!.frames);
    socket.drop();
    socket = await StreamClient.connect(url, token);
    tally.resumes += 1;
    const after = frames.filter((f) => !f.done).at(-1)?.seq;
    first = socket.subscribeOnceToDone(messageId, after);
  }
  const timeout = sleep(REPLY_TIMEOUT_MS).then(() => null);
  const ended = await Promise.race([first, timeout]);
  await stopping;
  if (!ended) {
    tally.fail(`${messageId}: not done within ${REPLY_TIMEOUT_MS} ms`);
    return { socket, text: '' };
  }
  frames.push(...ended.frames);
  const text = checkFrames(messageId, frames, stopAnswer, tally);
  return { socket, text };
}

/** Seqs 1, 2, 3… with no gap or duplicate, then done; the text equals what was saved. */
function checkFrames(
  messageId: string,
  frames: StreamFrame[],
  stopAnswer: { status: string; content: string } | undefined,
  tally: Tally,
): string {
  const deltas = frames.filter((f) => !f.done);
  const done = frames.at(-1);
  const text = deltas.map((f) => f.delta).join('');
  const inOrder = deltas.every((f, i) => f.seq === i + 1);
  const expected = stopAnswer ? ['STOPPED', 'COMPLETE'] : ['COMPLETE'];
  if (!inOrder) tally.fail(`${messageId}: seqs ${deltas.map((f) => f.seq).join(',')}`);
  else if (!done?.done) tally.fail(`${messageId}: no done event`);
  else if (!expected.includes(done.status!)) tally.fail(`${messageId}: ended ${done.status}`);
  else if (done.content !== text) tally.fail(`${messageId}: streamed text differs from saved`);
  else if (stopAnswer && stopAnswer.content !== text) {
    tally.fail(`${messageId}: stopGeneration answered other text than was streamed`);
  }
  return text;
}

function report(
  tally: Tally,
  options: SoakOptions,
  elapsedMs: number,
  rss: { start: number; peak: number; idle: number; settledAfterS: number | null },
  refusals: number,
  profile?: Array<{ command: string; count: number; ms: number }>,
): CaseResult[] {
  const windows = Math.max(1, Math.floor(elapsedMs / options.windowMs));
  const perWindow = Array.from({ length: windows }, (_, w) => {
    const inWindow = (at: number) => at >= w * options.windowMs && at < (w + 1) * options.windowMs;
    const sends = tally.sends.filter((s) => inWindow(s.at)).map((s) => s.ms);
    return {
      repliesPerSecond: +(tally.done.filter(inWindow).length / (options.windowMs / 1000)).toFixed(
        2,
      ),
      sendP50: Math.round(percentile(sends, 50)),
      sendP99: Math.round(percentile(sends, 99)),
    };
  });
  const sends = tally.sends.map((s) => s.ms);
  const stopP99 = percentile(tally.stops, 99);
  const sendP99 = percentile(sends, 99);
  const rate = perWindow.at(-1)!.repliesPerSecond / Math.max(perWindow[0]!.repliesPerSecond, 1e-9);
  const mb = (bytes: number) => Math.round(bytes / 1e6);
  const label = `${options.users} users × ${options.minutes} min, ${options.replyMs} ms replies`;
  const failed = tally.failed + refusals;
  const details = {
    replies: tally.replies,
    resumes: tally.resumes,
    regenerations: tally.regenerations,
    stops: tally.stops.length,
    lateStops: tally.lateStops,
    lists: tally.lists,
    reads: tally.reads,
    refreshes: tally.refreshes,
    stopMs: { p50: Math.round(percentile(tally.stops, 50)), p99: Math.round(stopP99) },
    sendMs: { p50: Math.round(percentile(sends, 50)), p99: Math.round(sendP99) },
    windowSeconds: options.windowMs / 1000,
    perWindow,
    rssMb: { start: mb(rss.start), peak: mb(rss.peak), idle: mb(rss.idle) },
    /** Seconds of idling until RSS was within the target (null: not within the idle time). */
    rssSettledAfterS: rss.settledAfterS,
    failures: tally.failures,
    databaseTime: profile,
  };
  const row = (
    name: string,
    measure: string,
    unit: string,
    subject: number,
    target: string,
    pass: boolean,
    rowErrors = 0,
  ): CaseResult => ({
    case: name,
    measure: `${measure} (${label})`,
    unit,
    subject,
    baseline: null,
    ratio: null,
    target,
    pass,
    errors: rowErrors,
    // Once, on the first row: every row is measured in the same run.
    details: name === 'soak-stop' ? details : undefined,
  });
  return [
    row('soak-stop', 'stopGeneration p99', 'ms', stopP99, '≤ 300 ms', stopP99 <= 300),
    row(
      'soak-send',
      'sendMessage/regenerateReply p99',
      'ms',
      sendP99,
      '≤ 1000 ms',
      sendP99 <= 1000,
    ),
    row(
      'soak-rate',
      `replies/s of the last ${options.windowMs / 1000} s over the first`,
      '×',
      rate,
      '≥ 0.8',
      rate >= 0.8,
    ),
    row(
      'soak-integrity',
      'replies that failed a check, and errors',
      'failures',
      failed,
      '0',
      failed === 0,
      failed,
    ),
    row(
      'soak-rss',
      `RSS after ${options.idleSeconds} s idle over the start of load`,
      '×',
      rss.idle / rss.start,
      `≤ ${RSS_IDLE_TARGET}`,
      rss.idle / rss.start <= RSS_IDLE_TARGET,
    ),
  ];
}
