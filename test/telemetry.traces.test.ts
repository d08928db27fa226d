import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  MessageStreamDocument,
  RegisterDocument,
  SendMessageDocument,
  ToolsDocument,
} from './gql/graphql';
import { uniqueEmail } from './helpers/accounts';
import { TestDatabase } from './helpers/database';
import { FakeOpenAi } from './helpers/fake-openai';
import { HttpMcpServer } from './helpers/mcp-servers';
import { GraphQLHttpClient } from './helpers/http-client';
import { OtlpReceiver, type ReceivedSpan } from './helpers/otlp-receiver';
import { TestRedis } from './helpers/redis-server';
import { startServerProcess, type ServerProcess } from './helpers/server-process';
import { TestSocket } from './helpers/ws-client';
import { loadTelemetryConfig } from '../src/config/telemetry-config';
import { createLogger } from '../src/log/logger';

const SECRET = 'a-cluster-secret-key-of-more-than-32-characters';
/** Planted where no span may carry them: a password, a prompt, a reply's text. */
const PASSWORD_MARKER = `pw${randomBytes(6).toString('hex')}`;
const PROMPT_MARKER = `prompt${randomBytes(6).toString('hex')}`;
const REPLY_MARKER = `reply${randomBytes(6).toString('hex')}`;
const URL_MARKER = `url${randomBytes(6).toString('hex')}`;
/** An MCP server's own credential, sent in a header of its calls. */
const HEADER_MARKER = `key${randomBytes(6).toString('hex')}`;
const PASSWORD = `plum-Orbit-47-${PASSWORD_MARKER}`;

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
/** A client's own span, as a browser app with tracing would send it. */
function clientSpan() {
  const traceId = hex(16);
  const spanId = hex(8);
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

/** A span's ancestors in its trace, nearest first, as far as they were exported. */
function ancestorsOf(span: ReceivedSpan, spans: ReceivedSpan[]): ReceivedSpan[] {
  const byId = new Map(spans.map((each) => [each.spanId, each]));
  const chain: ReceivedSpan[] = [];
  for (let at = span.parentSpanId && byId.get(span.parentSpanId); at;) {
    chain.push(at);
    at = at.parentSpanId ? byId.get(at.parentSpanId) : undefined;
  }
  return chain;
}

/**
 * Traces as a collector sees them: two built server processes (`node dist/main.js`) on one
 * database and one redis-server, exporting OTLP/HTTP (JSON) to a receiver this file starts.
 */
describe('OpenTelemetry traces', () => {
  let receiver: OtlpReceiver;
  let redis: TestRedis;
  let database: TestDatabase;
  let openai: FakeOpenAi;
  let mcp: HttpMcpServer;
  let a: ServerProcess;
  let b: ServerProcess;
  let token: string;

  const urlOf = (server: ServerProcess) => `http://127.0.0.1:${server.port}/graphql`;
  const wsUrlOf = (server: ServerProcess) => `ws://127.0.0.1:${server.port}/graphql`;

  function instance(name: string, env: Record<string, string> = {}): Promise<ServerProcess> {
    return startServerProcess({
      NODE_ENV: 'production',
      MONGODB_URL: database.url,
      DATABASE_NAME: database.name,
      SECRET_KEY: SECRET,
      REDIS_URL: redis.url,
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_MODELS: 'gpt-test',
      TOOLS: 'calculator',
      MCP_SERVERS: JSON.stringify({
        calc: { url: mcp.url, headers: { 'x-team-key': HEADER_MARKER } },
      }),
      METRICS_ENABLED: 'true',
      PORT: '0',
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: name,
      // Spans go out at once rather than every 5 s.
      OTEL_BSP_SCHEDULE_DELAY: '20',
      ...env,
    });
  }

  beforeAll(async () => {
    [receiver, redis, database, openai, mcp] = await Promise.all([
      OtlpReceiver.start(),
      TestRedis.start(),
      TestDatabase.start(),
      FakeOpenAi.start(),
      HttpMcpServer.start(),
    ]);
    [a, b] = await Promise.all([instance('palaver-a'), instance('palaver-b')]);
    const data = await new GraphQLHttpClient(urlOf(a)).data(RegisterDocument, {
      input: {
        email: uniqueEmail('traces'),
        password: PASSWORD,
        confirmPassword: PASSWORD,
        firstName: 'Tra',
        lastName: 'Ces',
      },
    });
    token = data.register.accessToken;
  }, 60_000);

  afterAll(async () => {
    for (const server of [a, b]) server?.child.kill('SIGKILL');
    await openai?.stop();
    await database?.stop();
    await redis?.dispose();
    await receiver?.stop();
    await mcp?.stop();
  });

  it('should join a sendMessage, its reply, each model call and each tool call (a built-in, an MCP server’s) in the trace of the traceparent the client sent', async () => {
    openai.enqueue(
      {
        toolCalls: [
          { name: 'calculator', arguments: { expression: '(2+3)*4' } },
          { name: 'add', arguments: { a: 2, b: 3 } },
        ],
        usage: { prompt_tokens: 10, completion_tokens: 3 },
      },
      {
        chunks: ['It is ', `20 ${REPLY_MARKER}.`],
        usage: { prompt_tokens: 20, completion_tokens: 7 },
      },
    );
    const client = clientSpan();
    const { sendMessage } = await new GraphQLHttpClient(urlOf(a)).data(
      SendMessageDocument,
      { input: { prompt: `What is (2+3)*4? ${PROMPT_MARKER}`, tools: ['calculator', 'add'] } },
      { token, headers: { traceparent: client.traceparent } },
    );
    expect(sendMessage.assistantMessage.id).toBeTruthy();

    const inTrace = (span: ReceivedSpan) => span.traceId === client.traceId;
    const reply = await receiver.waitFor((span) => inTrace(span) && span.name === 'reply');
    const tool = await receiver.waitFor(
      (span) => inTrace(span) && span.name === 'execute_tool calculator',
    );
    const spans = receiver.inTrace(client.traceId);
    const operation = spans.find((span) => span.name === 'mutation SendMessage')!;
    expect(operation).toBeDefined();
    expect(operation.attributes).toMatchObject({
      'graphql.operation.type': 'mutation',
      'graphql.operation.name': 'SendMessage',
    });
    // The client's span is the root: the request's HTTP span, or the operation's itself.
    const root = [operation, ...ancestorsOf(operation, spans)].at(-1)!;
    expect(root.parentSpanId).toBe(client.spanId);

    expect(reply.parentSpanId).toBe(operation.spanId);
    expect(reply.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-test',
      'gen_ai.usage.input_tokens': 30,
      'gen_ai.usage.output_tokens': 10,
      'palaver.reply.status': 'COMPLETE',
    });
    expect(reply.attributes['gen_ai.response.time_to_first_chunk']).toEqual(expect.any(Number));

    const modelCalls = spans.filter((span) => span.name === 'chat gpt-test');
    expect(modelCalls.map((span) => span.parentSpanId)).toEqual([reply.spanId, reply.spanId]);
    expect(modelCalls.map((span) => span.attributes['palaver.reply.step']).sort()).toEqual([1, 2]);
    const second = modelCalls.find((span) => span.attributes['palaver.reply.step'] === 2)!;
    expect(second.attributes).toMatchObject({
      'gen_ai.provider.name': 'openai',
      'gen_ai.usage.input_tokens': 20,
      'gen_ai.usage.output_tokens': 7,
    });

    expect(tool.parentSpanId).toBe(reply.spanId);
    expect(tool.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'calculator',
      'gen_ai.tool.type': 'function',
    });
    const mcpTool = spans.find((span) => span.name === 'execute_tool add')!;
    expect(mcpTool.parentSpanId).toBe(reply.spanId);
    expect(mcpTool.attributes).toMatchObject({
      'gen_ai.tool.name': 'add',
      'gen_ai.tool.type': 'extension',
      'mcp.server.name': 'calc',
    });
    expect(mcp.calls).toEqual([expect.objectContaining({ tool: 'add', args: { a: 2, b: 3 } })]);
    // The database's spans come from its instrumentation, inside the operation and the reply.
    expect(
      spans.some(
        (span) =>
          span.attributes['db.system'] === 'mongodb' ||
          span.attributes['db.system.name'] === 'mongodb',
      ),
    ).toBe(true);
    expect(
      receiver.spans.some(
        (span) =>
          span.attributes['db.system'] === 'redis' || span.attributes['db.system.name'] === 'redis',
      ),
    ).toBe(true);
  });

  it('should count the tokens by provider and model, the tool calls by outcome, and time replies on /metrics', async () => {
    const response = await fetch(`http://127.0.0.1:${a.port}/metrics`);
    const text = await response.text();
    const value = (series: string) =>
      Number(new RegExp(`^${series.replace(/[{}()|.]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    // The reply above: 10 + 20 tokens in, 3 + 7 out, a calculator call and an MCP one.
    expect(value('palaver_llm_tokens_total{provider="openai",model="gpt-test",type="input"}')).toBe(
      30,
    );
    expect(
      value('palaver_llm_tokens_total{provider="openai",model="gpt-test",type="output"}'),
    ).toBe(10);
    expect(value('palaver_tool_calls_total{tool="calculator",outcome="complete"}')).toBe(1);
    expect(value('palaver_tool_calls_total{tool="add",outcome="complete"}')).toBe(1);
    expect(
      value(
        'palaver_reply_duration_seconds_count{provider="openai",model="gpt-test",status="complete"}',
      ),
    ).toBe(1);
    expect(
      value('palaver_reply_time_to_first_token_seconds_count{provider="openai",model="gpt-test"}'),
    ).toBe(1);
  });

  it('should take the parent of an operation on the socket from its extensions, or else from connectionParams', async () => {
    const fromConnection = clientSpan();
    const fromExtensions = clientSpan();
    const socket = new TestSocket(wsUrlOf(a), {
      authorization: `Bearer ${token}`,
      traceparent: fromConnection.traceparent,
    });
    try {
      expect((await socket.execute(ToolsDocument)).errors).toBeUndefined();
      expect(
        (await socket.execute(ToolsDocument, {}, { traceparent: fromExtensions.traceparent }))
          .errors,
      ).toBeUndefined();
    } finally {
      await socket.dispose();
    }
    for (const client of [fromConnection, fromExtensions]) {
      const operation = await receiver.waitFor(
        (span) => span.traceId === client.traceId && span.name === 'query Tools',
      );
      expect(operation.parentSpanId).toBe(client.spanId);
      expect(operation.attributes).toMatchObject({ 'graphql.operation.type': 'query' });
    }
  });

  it("should link a follower on instance B to the span of A's reply", async () => {
    openai.enqueue({ chunks: Array.from({ length: 30 }, (_, i) => `t${i} `), delayMs: 20 });
    const client = clientSpan();
    const { sendMessage } = await new GraphQLHttpClient(urlOf(a)).data(
      SendMessageDocument,
      { input: { prompt: `Count for me ${PROMPT_MARKER}` } },
      { token, headers: { traceparent: client.traceparent } },
    );
    const socket = TestSocket.withToken(wsUrlOf(b), token);
    try {
      const subscription = socket.subscribe(MessageStreamDocument, {
        messageId: sendMessage.assistantMessage.id,
      });
      const events = await subscription.untilDone(15_000);
      expect(events.at(-1)!.data!.messageStream).toMatchObject({ done: true });
    } finally {
      await socket.dispose();
    }
    const reply = await receiver.waitFor(
      (span) => span.traceId === client.traceId && span.name === 'reply',
    );
    expect(reply.service).toBe('palaver-a');
    const follower = await receiver.waitFor(
      (span) =>
        span.service === 'palaver-b' &&
        span.name === 'subscription MessageStream' &&
        span.links.some((link) => link.spanId === reply.spanId),
    );
    expect(follower.links).toContainEqual({ traceId: client.traceId, spanId: reply.spanId });
  });

  it('should export the spans still waiting in its batch when it is stopped (SIGTERM)', async () => {
    // Nothing leaves on the timer for a minute: only the shutdown's flush can export them.
    const c = await instance('palaver-c', { OTEL_BSP_SCHEDULE_DELAY: '60000' });
    const client = clientSpan();
    try {
      const socket = new TestSocket(wsUrlOf(c), {
        authorization: `Bearer ${token}`,
        traceparent: client.traceparent,
      });
      expect((await socket.execute(ToolsDocument)).errors).toBeUndefined();
      await socket.dispose();
      await sleep(200);
      expect(receiver.inTrace(client.traceId)).toEqual([]);
      c.child.kill('SIGTERM');
      expect(await c.exited).toEqual({ code: 0, signal: null });
    } finally {
      c.child.kill('SIGKILL');
    }
    const operation = await receiver.waitFor(
      (span) => span.traceId === client.traceId && span.name === 'query Tools',
      1_000,
    );
    expect(operation.service).toBe('palaver-c');
  });

  it("should keep a stored file's bytes out of its database spans (each bounded)", async () => {
    const http = new GraphQLHttpClient(urlOf(a));
    const size = 600 * 1024;
    const ticket = await http.raw<{ t: { uploadUrl: string } }>(
      `mutation { t: createUpload(input: { filename: "t.txt", mediaType: "text/plain", size: ${size} }) { uploadUrl } }`,
      undefined,
      { token },
    );
    const put = await fetch(ticket.data!.t.uploadUrl, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}` },
      body: new Uint8Array(size).fill(0x61),
    });
    expect(put.status).toBe(201);
    const inserts = () =>
      receiver.spans.filter((span) => {
        const text = JSON.stringify(span.attributes);
        return text.includes('attachment_bytes.chunks') && /"insert"/.test(text);
      });
    // 600 KB is three chunks of 255 KB: each one's insert is a span.
    await receiver.waitFor(() => inserts().length >= 3);
    // The driver's own masking wrote a 255 KB chunk as a 4 MB object of one key per byte.
    for (const span of inserts()) {
      for (const value of Object.values(span.attributes)) {
        expect(String(value).length).toBeLessThan(2_000);
      }
    }
  });

  it('should export no password, token, prompt or reply text in any span', async () => {
    // Secrets in URLs: a GET operation's variables, an upload's secret, a download's signature.
    const get = clientSpan();
    const query = new URLSearchParams({
      query: 'query SharedChat($token: String!) { sharedChat(token: $token) { title } }',
      variables: JSON.stringify({ token: URL_MARKER }),
    });
    await fetch(`${urlOf(a)}?${query}`, {
      headers: { traceparent: get.traceparent, 'apollo-require-preflight': 'true' },
    });
    for (const path of [`/uploads/u1/${URL_MARKER}`, `/attachments/a1/99/${URL_MARKER}`])
      await fetch(`http://127.0.0.1:${a.port}${path}`, {
        headers: { traceparent: get.traceparent },
      });
    const requests = () =>
      receiver.inTrace(get.traceId).filter((span) => 'http.request.method' in span.attributes);
    await receiver.waitFor(() => requests().length >= 3);
    // Whatever this file exported, searched whole: attributes, events, links, resources.
    await receiver.waitFor((span) => span.name === 'subscription MessageStream');
    expect(receiver.bodies.length).toBeGreaterThan(0);
    const exported = receiver.bodies.join('\n');
    expect(exported).toContain('mutation SendMessage');
    for (const secret of [
      PASSWORD_MARKER,
      PROMPT_MARKER,
      URL_MARKER,
      HEADER_MARKER,
      REPLY_MARKER,
      token,
      token.split('.')[2]!,
      '(2+3)*4',
    ]) {
      expect(exported).not.toContain(secret);
    }
  });
});

describe('tracing switched off', () => {
  const dist = path.resolve(__dirname, '..', 'dist', 'telemetry', 'start-tracing.js');
  /** Loads what main.ts loads first, and says whether any SDK module came with it. */
  const sdkLoaded = (env: Record<string, string>) =>
    execFileSync(
      process.execPath,
      [
        '-e',
        `require(${JSON.stringify(dist)}); console.log(Object.keys(require.cache).some((file) => file.includes('@opentelemetry/sdk-trace') || file.includes('instrumentation')))`,
      ],
      { env: { PATH: process.env.PATH ?? '', ...env } },
    )
      .toString()
      .trim();

  it('should load no SDK and no instrumentation without an OTLP endpoint', () => {
    expect(sdkLoaded({})).toBe('false');
    expect(sdkLoaded({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/v1/traces' })).toBe(
      'true',
    );
    expect(
      sdkLoaded({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_SDK_DISABLED: 'true' }),
    ).toBe('false');
  });
});

describe('tracing configuration', () => {
  it('should trace only with an endpoint, take the standard sampler, and read empty variables as unset', () => {
    expect(loadTelemetryConfig({}).enabled).toBe(false);
    // What an .env copied from .env.example holds: every OTEL_ variable empty.
    const copied = loadTelemetryConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: '',
      OTEL_TRACES_SAMPLER: '',
      OTEL_TRACES_SAMPLER_ARG: '',
      OTEL_EXPORTER_OTLP_PROTOCOL: '',
    });
    expect(copied).toMatchObject({
      enabled: false,
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
      protocol: 'http/protobuf',
    });
    expect(
      loadTelemetryConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
      }),
    ).toMatchObject({ enabled: true, sampler: 'parentbased_traceidratio', samplerRatio: 0.1 });
  });

  it('should refuse a sampler or protocol it does not speak, naming the variable', () => {
    expect(() => loadTelemetryConfig({ OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toThrow(
      /OTEL_TRACES_SAMPLER/,
    );
    expect(() =>
      loadTelemetryConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      }),
    ).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL=grpc/);
  });
});

describe('log lines in a span', () => {
  it('should carry the trace_id and span_id of the active span', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ isProduction: true, logLevel: 'info' }, destination);
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      const traceId = hex(16);
      const spanId = hex(8);
      const span = trace.wrapSpanContext({ traceId, spanId, traceFlags: 1 });
      context.with(trace.setSpan(ROOT_CONTEXT, span), () => logger.info('inside'));
      logger.info('outside');
      const [inside, outside] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(inside).toMatchObject({ msg: 'inside', trace_id: traceId, span_id: spanId });
      expect(outside).not.toHaveProperty('trace_id');
    } finally {
      context.disable();
    }
  });
});
