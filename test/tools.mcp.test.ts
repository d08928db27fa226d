import { parse } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { registerUser, type TestUser } from './helpers/accounts';
import { HttpMcpServer, STDIO_MCP_SERVER } from './helpers/mcp-servers';
import { TestApp } from './helpers/test-app';
import type { TestSocket } from './helpers/ws-client';

/** Documents of this file, written as a client would (no generated types needed). */
const doc = (source: string) => parse(source) as TypedDocumentNode<any, any>;
const TOOLS = doc('query { tools { name description source server requiresApproval } }');
const SEND = doc(`mutation ($input: SendMessageInput!) {
  sendMessage(input: $input) { chat { id tools } assistantMessage { id } }
}`);
const STREAM = doc(`subscription ($id: ID!, $after: Int) {
  messageStream(messageId: $id, after: $after) {
    seq delta reasoningDelta done
    toolCall { id name arguments status result error }
    message { status content parts { type text toolCall { name status result error } } }
  }
}`);
const APPROVE = doc(`mutation ($m: ID!, $c: ID!, $a: Boolean!) {
  approveToolCall(messageId: $m, toolCallId: $c, approve: $a) { id status }
}`);

type StreamEvent = {
  seq: number;
  delta: string;
  done: boolean;
  toolCall: {
    id: string;
    name: string;
    status: string;
    result: string | null;
    error: string | null;
  } | null;
  message: {
    status: string;
    content: string;
    parts: Array<{ type: string; toolCall: { name: string; status: string } | null }>;
  } | null;
};

/** Every event of a reply; `onPending` runs at the first call that waits for approval. */
async function follow(
  socket: TestSocket,
  id: string,
  onPending?: (event: StreamEvent) => Promise<unknown>,
): Promise<StreamEvent[]> {
  const subscription = socket.subscribe(STREAM, { id });
  const eventAt = (index: number) =>
    (subscription.events[index]?.data as { messageStream: StreamEvent } | undefined)?.messageStream;
  if (onPending) {
    for (let count = 1; ; count += 1) {
      await subscription.waitForEvents(count, 10_000);
      const event = eventAt(count - 1);
      if (!event || event.done) break;
      if (event.toolCall?.status === 'PENDING_APPROVAL') {
        await onPending(event);
        break;
      }
    }
  }
  const events = await subscription.untilDone(20_000);
  return events.map((event) => {
    if (event.errors) throw new Error(JSON.stringify(event.errors));
    return (event.data as { messageStream: StreamEvent }).messageStream;
  });
}

describe('MCP servers: their tools are offered and called through the official SDK', () => {
  let http: HttpMcpServer;
  let app: TestApp;
  let user: TestUser;
  let socket: TestSocket;
  beforeAll(async () => {
    http = await HttpMcpServer.start();
    app = await TestApp.start({
      env: {
        MCP_SERVERS: JSON.stringify({
          calc: { url: http.url, headers: { 'x-team-key': 'team-secret' } },
          guarded: { url: http.url, requiresApproval: true, tools: ['add'] },
          local: { command: process.execPath, args: [STDIO_MCP_SERVER], env: { GREETING: 'hi' } },
          // Nothing listens there: its tools are left out, and the server still starts.
          gone: { url: 'http://127.0.0.1:9/mcp' },
        }),
      },
      chat: { retriesBeforeFirstToken: 0 },
    });
    user = await registerUser(app);
    socket = app.socket(user.auth.accessToken);
  }, 60_000);
  afterAll(async () => {
    await socket?.dispose();
    await app?.stop();
    await http?.stop();
  });
  const token = () => user.auth.accessToken;

  it('should list each reachable server’s tools with their server, under names every provider accepts', async () => {
    const { tools } = await app.http().data(TOOLS, {}, { token: token() });
    const mcp = tools.filter((tool: { source: string }) => tool.source === 'MCP');
    const byName = Object.fromEntries(mcp.map((tool: { name: string }) => [tool.name, tool]));
    expect(byName.add).toMatchObject({ server: 'calc', requiresApproval: false });
    expect(byName.fails).toMatchObject({ server: 'calc' });
    // A name with a dot is offered under the server's prefix.
    expect(byName['calc_files_read']).toMatchObject({
      server: 'calc',
      description: expect.stringContaining('dot'),
    });
    // The second server's `add` takes another name, and its allow-list keeps only `add`.
    const guarded = mcp.filter((tool: { server: string }) => tool.server === 'guarded');
    expect(guarded).toEqual([
      expect.objectContaining({ name: 'guarded_add', requiresApproval: true }),
    ]);
    expect(byName.shout).toMatchObject({ server: 'local' });
    expect(mcp.some((tool: { server: string }) => tool.server === 'gone')).toBe(false);
    for (const tool of mcp) expect(tool.name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
  });

  it('should call an HTTP server’s tool with the configured headers and give the model its result', async () => {
    const before = http.calls.length;
    app.openai.enqueue({ toolCalls: [{ id: 'call_add', name: 'add', arguments: { a: 2, b: 3 } }] });
    app.openai.enqueue({ chunks: ['It is', ' 5.'] });
    const sent = await app
      .http()
      .data(SEND, { input: { prompt: 'add 2 and 3', tools: ['add'] } }, { token: token() });
    const events = await follow(socket, sent.sendMessage.assistantMessage.id);
    const calls = events.filter((event) => event.toolCall).map((event) => event.toolCall!);
    expect(calls.map((call) => call.status)).toEqual(['RUNNING', 'COMPLETE']);
    expect(calls[1]).toMatchObject({ name: 'add', result: '5', error: null });
    const done = events[events.length - 1]!;
    expect(done.message).toMatchObject({ status: 'COMPLETE', content: 'It is 5.' });
    expect(http.calls.slice(before)).toEqual([
      expect.objectContaining({ tool: 'add', args: { a: 2, b: 3 } }),
    ]);
    expect(http.calls[before]!.headers!['x-team-key']).toBe('team-secret');
    // The model's second request carried the result as a tool message.
    const second = app.openai.requests[app.openai.requests.length - 1]!.body;
    expect(second.messages).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ role: 'tool', tool_call_id: 'call_add', content: '5' }),
      ]),
    );
  });

  it('should make an MCP error result and arguments that break the schema FAILED calls, and go on', async () => {
    const before = http.calls.length;
    app.openai.enqueue({
      toolCalls: [
        { id: 'c1', name: 'fails', arguments: {} },
        { id: 'c2', name: 'add', arguments: { a: 'two', b: 3 } },
      ],
    });
    app.openai.enqueue({ chunks: ['Sorry.'] });
    const sent = await app
      .http()
      .data(SEND, { input: { prompt: 'try', tools: ['fails', 'add'] } }, { token: token() });
    const events = await follow(socket, sent.sendMessage.assistantMessage.id);
    const ended = events.filter((event) => event.toolCall && event.toolCall.status !== 'RUNNING');
    expect(ended.map((event) => [event.toolCall!.name, event.toolCall!.status])).toEqual([
      ['fails', 'FAILED'],
      ['add', 'FAILED'],
    ]);
    expect(ended[0]!.toolCall!.error).toBe('disk on fire');
    expect(ended[1]!.toolCall!.error).toMatch(/do not fit/);
    expect(events[events.length - 1]!.message!.status).toBe('COMPLETE');
    // Only the well-formed call reached the server.
    expect(http.calls.slice(before).map((call) => call.tool)).toEqual(['fails']);
  });

  it('should cut a result over 64 KB, with a note, for the model and the saved reply alike', async () => {
    app.openai.enqueue({ toolCalls: [{ id: 'b1', name: 'big', arguments: {} }] });
    app.openai.enqueue({ chunks: ['Long.'] });
    const sent = await app
      .http()
      .data(SEND, { input: { prompt: 'big', tools: ['big'] } }, { token: token() });
    const events = await follow(socket, sent.sendMessage.assistantMessage.id);
    const result = events.find((event) => event.toolCall?.status === 'COMPLETE')!.toolCall!.result!;
    expect(result).toMatch(/\[the tool's result was cut at 64 KB\]$/);
    const kept = result.slice(0, result.lastIndexOf('\n'));
    expect(Buffer.byteLength(kept)).toBeLessThanOrEqual(64 * 1024);
    expect(Buffer.byteLength(kept)).toBeGreaterThan(64 * 1024 - 4);
    // Cut between characters, never inside one.
    expect(kept).toMatch(/^é+$/);
    const second = app.openai.requests[app.openai.requests.length - 1]!.body;
    const told = second.messages.find((m: { role: string }) => m.role === 'tool') as {
      content: string;
    };
    expect(told.content).toBe(result);
    const saved = events[events.length - 1]!.message!.parts[0]!.toolCall as unknown as {
      result: string;
    };
    expect(saved.result).toBe(result);
  });

  it('should call a stdio server’s tool, the child seeing only the env it was given', async () => {
    app.openai.enqueue({
      toolCalls: [
        { id: 's1', name: 'shout', arguments: { text: 'hey' } },
        { id: 's2', name: 'whoami', arguments: {} },
      ],
    });
    app.openai.enqueue({ chunks: ['Done.'] });
    const sent = await app
      .http()
      .data(SEND, { input: { prompt: 'shout', tools: ['shout', 'whoami'] } }, { token: token() });
    const events = await follow(socket, sent.sendMessage.assistantMessage.id);
    const results = Object.fromEntries(
      events
        .filter((event) => event.toolCall?.status === 'COMPLETE')
        .map((event) => [event.toolCall!.name, event.toolCall!.result]),
    );
    expect(results.shout).toBe('HEY');
    const names = results.whoami!.split(',');
    expect(names).toContain('GREETING');
    // The server's own secrets stay with it.
    expect(names).not.toContain('SECRET_KEY');
    expect(names.some((name) => name.startsWith('JEST'))).toBe(false);
  });

  it('should end a reply stopped while an MCP tool runs at once: STOPPED, the call FAILED, no further step', async () => {
    app.openai.enqueue({ toolCalls: [{ id: 'z1', name: 'sleepy', arguments: {} }] });
    const sent = await app
      .http()
      .data(SEND, { input: { prompt: 'sleep', tools: ['sleepy'] } }, { token: token() });
    const messageId = sent.sendMessage.assistantMessage.id;
    const subscription = socket.subscribe(STREAM, { id: messageId });
    for (let count = 1; ; count += 1) {
      await subscription.waitForEvents(count, 10_000);
      const event = (subscription.events[count - 1]!.data as { messageStream: StreamEvent })
        .messageStream;
      if (event.toolCall?.status === 'RUNNING') break;
    }
    const requests = app.openai.requests.length;
    const stoppedAt = Date.now();
    const stopped = await app
      .http()
      .data(
        doc('mutation ($id: ID!) { stopGeneration(messageId: $id) { status } }'),
        { id: messageId },
        { token: token() },
      );
    expect(stopped.stopGeneration.status).toBe('STOPPED');
    // The 10 s tool did not hold the stop.
    expect(Date.now() - stoppedAt).toBeLessThan(2_000);
    const events = (await subscription.untilDone(10_000)).map(
      (event) => (event.data as { messageStream: StreamEvent }).messageStream,
    );
    expect(events.filter((event) => event.toolCall).map((event) => event.toolCall!.status)).toEqual(
      ['RUNNING', 'FAILED'],
    );
    expect(events.at(-1)!.message!.status).toBe('STOPPED');
    expect(app.openai.requests.length).toBe(requests);
  });

  it('should refuse arguments nested too deeply as a FAILED call, and still end the reply COMPLETE', async () => {
    const deep = '{"a":' + '['.repeat(5_000) + ']'.repeat(5_000) + '}';
    app.openai.enqueue({
      toolCalls: [{ id: 'deep', name: 'add', arguments: {}, argumentPieces: [deep] }],
    });
    app.openai.enqueue({ chunks: ['Fine.'] });
    const sent = await app
      .http()
      .data(SEND, { input: { prompt: 'deep', tools: ['add'] } }, { token: token() });
    const events = await follow(socket, sent.sendMessage.assistantMessage.id);
    const calls = events.filter((event) => event.toolCall).map((event) => event.toolCall!);
    expect(calls).toEqual([
      expect.objectContaining({
        status: 'FAILED',
        error: expect.stringMatching(/nested too deeply/),
      }),
    ]);
    expect(events.at(-1)!.message).toMatchObject({ status: 'COMPLETE', content: 'Fine.' });
  });

  it('should name an unknown tool by its position, never echoing what the client sent', async () => {
    const secret = 'sk-live-"quoted"-secret-value';
    const refused = await app
      .http()
      .request(SEND, { input: { prompt: 'x', tools: ['add', secret] } }, { token: token() });
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(refused.errors?.[0]?.message).toMatch(/position 1/);
    expect(JSON.stringify(refused.errors)).not.toContain('secret');
  });

  it('should hold a call of a server that requires approval until approveToolCall', async () => {
    const before = http.calls.length;
    app.openai.enqueue({
      toolCalls: [{ id: 'g1', name: 'guarded_add', arguments: { a: 1, b: 1 } }],
    });
    app.openai.enqueue({ chunks: ['Two.'] });
    const sent = await app
      .http()
      .data(SEND, { input: { prompt: 'one and one', tools: ['guarded_add'] } }, { token: token() });
    const messageId = sent.sendMessage.assistantMessage.id;
    const events = await follow(socket, messageId, async (pending) => {
      // Nothing ran before the answer.
      expect(http.calls.length).toBe(before);
      await app
        .http()
        .data(APPROVE, { m: messageId, c: pending.toolCall!.id, a: true }, { token: token() });
    });
    const statuses = events
      .filter((event) => event.toolCall)
      .map((event) => event.toolCall!.status);
    expect(statuses).toEqual(['PENDING_APPROVAL', 'RUNNING', 'COMPLETE']);
    expect(http.calls.slice(before)).toEqual([
      expect.objectContaining({ tool: 'add', args: { a: 1, b: 1 } }),
    ]);
  });
});
