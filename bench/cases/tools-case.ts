import { graphql, SEND, startSubject, type Bench, type CaseResult } from '../lib/context';
import { BenchMcpServer } from '../lib/mcp-server';
import { cpuTimes, type RunningProcess } from '../lib/processes';
import {
  ScriptedUpstream,
  type ScriptedReply,
  type UpstreamRequest,
} from '../lib/scripted-upstream';
import { median, percentile } from '../lib/stats';
import { connectMany, nowMs, type StreamClient, type StreamFrame } from '../lib/ws-load';

/** Model calls a reply makes: `add`, `add` again on the first sum, then the answer. */
const STEPS = 3;
/** Chunks of the answer (the third step). */
const ANSWER_CHUNKS = 20;
/**
 * Rounds run before the measured ones: a fresh server's per-reply code is still being
 * optimized. Ten rounds in a row on one server cost 4,800, 4,133, 3,600, 3,200, 2,933, 2,933,
 * 2,867, 2,533, 2,600 and 2,933 µs a step: flat from about the fifth (200 replies).
 */
const WARM_UP_ROUNDS = 4;
const ROUNDS = 3;
/** A reply not done by then is closed and fails its check (the bench must not hang on one). */
const ROUND_TIMEOUT_MS = 60_000;

/** Every event of the reply, its tool calls and, on the done event, the saved parts. */
const TOOLS_STREAM_QUERY =
  'subscription S($messageId: ID!, $after: Int) { messageStream(messageId: $messageId, after: $after) { messageId seq delta reasoningDelta toolCall { id name arguments status result error } done message { status content parts { type text toolCall { id name status result error } } } } }';

/** What one prompt asks, and what its reply must hold. */
interface Prompt {
  /** Who asks, unique in the case: the tool calls' ids and the answer carry it. */
  key: string;
  a: number;
  b: number;
  c: number;
}

const promptText = ({ key, a, b, c }: Prompt) => `[${key}] add ${a} and ${b}, then add ${c}`;
const PROMPT = /^\[([\w-]+)\] add (-?\d+) and (-?\d+), then add (-?\d+)$/;
const callId = (key: string, n: number) => `call_${key}_${n}`;
/** The answer's chunks, whose text says which prompt they answer. */
const answerChunks = (key: string, sum: number) =>
  Array.from({ length: ANSWER_CHUNKS }, (_, i) =>
    i === 0 ? `[${key}] The sum is ${sum}.` : ` Chunk ${i} of ${key}.`,
  );

/**
 * The model's side of every reply, chosen by what the request holds: the prompt's numbers and
 * the tool results the server sent back. No tool message yet: call add(a, b); one (which must
 * say a + b): call add(a + b, c); two (the second a + b + c): answer with text. Anything else
 * (a wrong result, tools missing, a fourth step) is refused, and counted.
 */
function modelScript(request: UpstreamRequest): ScriptedReply {
  const user = request.messages.filter((m) => m.role === 'user').at(-1);
  const match = PROMPT.exec(user?.content ?? '');
  if (!match) throw new Error(`no bench prompt in ${JSON.stringify(user?.content)}`);
  const key = match[1]!;
  const [a, b, c] = match.slice(2).map(Number) as [number, number, number];
  const results = request.messages.filter((m) => m.role === 'tool');
  const offered = request.tools?.some((tool) => tool.function.name === 'add') ?? false;
  const resultOf = (n: number) => {
    const message = results[n - 1]!;
    if (message.tool_call_id !== callId(key, n))
      throw new Error(`${key}: result ${n} answers ${message.tool_call_id}`);
    return message.content;
  };
  if (results.length < 2 && !offered)
    throw new Error(`${key}: step ${results.length + 1} without add`);
  if (results.length === 0) {
    return { toolCalls: [{ id: callId(key, 1), name: 'add', arguments: { a, b } }] };
  }
  if (results.length === 1) {
    if (resultOf(1) !== String(a + b)) throw new Error(`${key}: add 1 gave ${resultOf(1)}`);
    return { toolCalls: [{ id: callId(key, 2), name: 'add', arguments: { a: a + b, b: c } }] };
  }
  if (results.length === 2) {
    if (resultOf(1) !== String(a + b)) throw new Error(`${key}: add 1 gave ${resultOf(1)}`);
    if (resultOf(2) !== String(a + b + c)) throw new Error(`${key}: add 2 gave ${resultOf(2)}`);
    return { text: answerChunks(key, a + b + c) };
  }
  throw new Error(`${key}: a step after ${results.length} tool results`);
}

interface ToolsRun {
  cpuPerStep: number;
  steps: number;
  stepsPerSecond: number;
  seconds: number;
  /** Server CPU ÷ wall time: near 1, the server's core was the bound. */
  busy: number;
  /** TCP connections the server opened to the upstream and to the MCP server in the round. */
  connections: { upstream: number; mcp: number };
  /** Send → done event, per reply (ms). */
  replyMs: number[];
  intact: number;
  errors: number;
  /** The first few violations, for the details. */
  problems: string[];
}

/**
 * tools (issue 31): replies that call tools, end to end through the real server. Each of N
 * users sends one prompt with `tools: ["add"]`, the tool of an MCP server (Streamable HTTP,
 * stateless, in this process), into a titled chat (so no title request), and follows the
 * reply on its own socket to the done event. Each reply is three model steps against a
 * scripted fake upstream: add(a, b), add(a + b, c), then 20 chunks of text, all sent as fast
 * as they are read (no pacing: the job's wall time is the work's). Measured: the server's CPU
 * from the first send to the last done event ÷ the model steps (upstream streaming requests)
 * made meanwhile (the sends, the saves and the sockets included, as in the job case), and
 * steps per second over the same window. On the local database the sends set most of that
 * window (the first model step starts ~0.3 s after 50 sends), so steps/s is this job's, not the
 * server's ceiling; `serverBusy` in the details says how much of the window the server's core
 * worked. Every reply is checked; any violation is an error. Report only: no target yet.
 */
export async function toolsCase(bench: Bench): Promise<CaseResult> {
  const users = bench.quick ? 10 : 50;
  const rounds = bench.quick ? 1 : ROUNDS;
  const warmUps = bench.quick ? 0 : WARM_UP_ROUNDS;
  const mcp = await BenchMcpServer.start();
  const upstream = await ScriptedUpstream.start(modelScript);
  const runs: ToolsRun[] = [];
  const warm: ToolsRun[] = [];
  try {
    // The MCP server is up before the server starts: it lists its tools once, at start.
    const subject = await startSubject(bench, {
      OPENAI_BASE_URL: upstream.baseUrl,
      MCP_SERVERS: JSON.stringify({ bench: { url: mcp.url } }),
    });
    try {
      const round = (label: string) => runRound(bench, subject, upstream, mcp, users, label);
      for (let i = 0; i < warmUps; i += 1) warm.push(await round(`warm${i}`));
      for (let i = 0; i < rounds; i += 1) runs.push(await round(`r${i}`));
    } finally {
      await subject.stop();
    }
  } finally {
    await upstream.stop();
    await mcp.stop();
  }
  const run = [...runs].sort((x, y) => x.cpuPerStep - y.cpuPerStep)[Math.floor(runs.length / 2)]!;
  const errors = [...warm, ...runs].reduce((n, r) => n + r.errors, 0);
  const us = (seconds: number) => +(seconds * 1e6).toFixed(0);
  return {
    case: 'tools',
    measure: `server CPU µs per model step: ${users} users each send one prompt with tools: [add] (an MCP server's tool), each reply ${STEPS} steps (add, add, ${ANSWER_CHUNKS} chunks of text; unpaced), followed to done and checked (median of ${rounds} after ${warmUps} warm-up rounds); ${run.stepsPerSecond.toFixed(0)} steps/s`,
    unit: 'µs/step',
    subject: run.cpuPerStep * 1e6,
    baseline: null,
    ratio: null,
    target: 'report only (no threshold yet); every reply whole',
    pass: errors === 0,
    errors,
    details: {
      rounds: runs.map((r) => us(r.cpuPerStep)),
      warmUpRounds: warm.map((r) => us(r.cpuPerStep)),
      stepsPerSecond: runs.map((r) => +r.stepsPerSecond.toFixed(0)),
      roundSeconds: median(runs.map((r) => r.seconds)),
      serverBusy: runs.map((r) => +r.busy.toFixed(2)),
      intactReplies: runs.map((r) => `${r.intact}/${users}`),
      // Against the round's model steps and tool calls: a kept-alive connection serves many.
      connectionsOpened: run.connections,
      replyMs: { p50: percentile(run.replyMs, 50), p99: percentile(run.replyMs, 99) },
      problems: [...warm, ...runs].flatMap((r) => r.problems).slice(0, 5),
    },
  };
}

async function runRound(
  bench: Bench,
  { port, pid }: RunningProcess,
  upstream: ScriptedUpstream,
  mcp: BenchMcpServer,
  count: number,
  label: string,
): Promise<ToolsRun> {
  const users = await bench.seeder.users(count, `tools-${label}`);
  const chatIds = await bench.seeder.emptyChats(users);
  const prompts: Prompt[] = users.map((_, i) => ({
    key: `${label}-${i}`,
    a: 3 * i + 1,
    b: 1000 + 7 * i,
    c: 50_000 - i,
  }));
  // A client's socket is open before it sends (an app connects once, then chats).
  const clients = await connectMany(
    `ws://127.0.0.1:${port}/graphql`,
    users.map((user) => user.token),
  );
  const stepsBefore = upstream.streamed;
  const callsBefore = mcp.calls;
  const refusalsBefore = upstream.refusals.length;
  const connectionsBefore = { upstream: upstream.connections, mcp: mcp.connections };
  /** The first fault of each reply that has one. */
  const faults: Array<string | null> = users.map(() => null);
  const replyMs: number[] = [];
  const startedAt = nowMs();
  const before = cpuTimes(pid);
  const deadline = setTimeout(() => clients.forEach((client) => client.close()), ROUND_TIMEOUT_MS);
  await Promise.all(
    users.map(async (user, i) => {
      const client = clients[i]!;
      const sentAt = nowMs();
      try {
        const data = await graphql(port, user.token, SEND, {
          input: { prompt: promptText(prompts[i]!), chatId: chatIds[i], tools: ['add'] },
        });
        client.subscribe(data.sendMessage.assistantMessage.id as string, {}, TOOLS_STREAM_QUERY);
        await client.done;
        replyMs.push(nowMs() - sentAt);
      } catch (error) {
        faults[i] = `send: ${(error as Error).message}`;
      }
    }),
  );
  const after = cpuTimes(pid);
  const seconds = (nowMs() - startedAt) / 1000;
  clearTimeout(deadline);
  clients.forEach((client) => client.close());
  clients.forEach((client, i) => (faults[i] ??= checkReply(client, prompts[i]!)));
  const problems = faults.flatMap((fault, i) => (fault ? [`${prompts[i]!.key}: ${fault}`] : []));
  const intact = count - problems.length;
  // Faults of the round as a whole: each is one more error.
  const steps = upstream.streamed - stepsBefore;
  const calls = mcp.calls - callsBefore;
  const roundFaults: string[] = [];
  if (steps !== count * STEPS) roundFaults.push(`${steps} model steps, expected ${count * STEPS}`);
  if (calls !== count * 2) roundFaults.push(`${calls} add calls, expected ${count * 2}`);
  // A refused step fails its reply (counted there); the reason is kept for the details.
  const refused = upstream.refusals.slice(refusalsBefore).map((reason) => `refused: ${reason}`);
  const cpu = after.user - before.user + after.system - before.system;
  const connections = {
    upstream: upstream.connections - connectionsBefore.upstream,
    mcp: mcp.connections - connectionsBefore.mcp,
  };
  return {
    cpuPerStep: cpu / Math.max(steps, 1),
    steps,
    stepsPerSecond: steps / seconds,
    seconds,
    busy: cpu / seconds,
    replyMs,
    intact,
    connections,
    errors: problems.length + roundFaults.length,
    problems: [...roundFaults, ...refused, ...problems],
  };
}

/**
 * What the client got must be the whole reply, once, in order: seq 1..n with no gap or repeat
 * and the done event last; the tool calls RUNNING then COMPLETE, each with its arguments and
 * the right sum, before any text; the joined deltas equal to the done message's content and to
 * what the model sent; the message COMPLETE with parts [TOOL_CALL, TOOL_CALL, TEXT]. Returns
 * the first violation, or null.
 */
function checkReply(client: StreamClient, prompt: Prompt): string | null {
  if (client.errors.length > 0)
    return `socket errors ${JSON.stringify(client.errors).slice(0, 200)}`;
  const frames = client.frames;
  const gap = frames.findIndex((frame, i) => frame.seq !== i + 1);
  if (gap >= 0) return `seq ${frames[gap]!.seq} at position ${gap + 1}`;
  const done = frames.at(-1);
  if (!done?.done) return 'no done event last';
  if (frames.slice(0, -1).some((frame) => frame.done)) return 'a done event before the last';
  const events = frames.slice(0, -1);
  if (events.some((frame) => frame.reasoningDelta !== '')) return 'reasoning in a reply without';
  const { key, a, b, c } = prompt;
  const expectedCalls = [
    { id: callId(key, 1), arguments: { a, b }, result: String(a + b) },
    { id: callId(key, 2), arguments: { a: a + b, b: c }, result: String(a + b + c) },
  ];
  const expectedStates = expectedCalls.flatMap((call) => [
    { ...call, status: 'RUNNING', result: null },
    { ...call, status: 'COMPLETE' },
  ]);
  const toolEvents = events.filter((frame) => frame.toolCall);
  if (toolEvents.length !== expectedStates.length)
    return `${toolEvents.length} toolCall events, expected ${expectedStates.length}`;
  // Text belongs to the third step: every toolCall event comes first.
  if (events.slice(0, toolEvents.length).some((frame) => !frame.toolCall))
    return 'text before a tool call ended';
  for (const [i, expected] of expectedStates.entries()) {
    const frame = toolEvents[i]! as StreamFrame & {
      toolCall: NonNullable<StreamFrame['toolCall']>;
    };
    const call = frame.toolCall;
    if (frame.delta !== '') return `toolCall event ${i + 1} has text`;
    if (
      call.id !== expected.id ||
      call.name !== 'add' ||
      call.status !== expected.status ||
      call.result !== expected.result ||
      call.error !== null ||
      JSON.stringify(call.arguments) !== JSON.stringify(expected.arguments)
    )
      return `toolCall event ${i + 1} is ${JSON.stringify(call)}`;
  }
  const joined = events.map((frame) => frame.delta).join('');
  const answer = answerChunks(key, a + b + c).join('');
  if (done.status !== 'COMPLETE') return `status ${done.status}`;
  if (done.content !== joined) return 'the deltas do not join into the content';
  if (joined !== answer) return 'the content is not what the model sent';
  const parts = done.parts ?? [];
  const types = parts.map((part) => part.type).join(',');
  if (types !== 'TOOL_CALL,TOOL_CALL,TEXT') return `parts ${types}`;
  for (const [i, expected] of expectedCalls.entries()) {
    const call = parts[i]!.toolCall;
    if (call?.id !== expected.id || call.status !== 'COMPLETE' || call.result !== expected.result)
      return `part ${i + 1} is ${JSON.stringify(call)}`;
  }
  if (parts[2]!.text !== answer) return 'the TEXT part is not the answer';
  return null;
}
