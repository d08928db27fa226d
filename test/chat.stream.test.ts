import { setTimeout as sleep } from 'node:timers/promises';
import { Types } from 'mongoose';
import {
  ChatDocument,
  ChatsDocument,
  DeleteChatDocument,
  LoginDocument,
  MessageStreamDocument,
  StopGenerationDocument,
} from './gql/graphql';
import { registerUser, type TestUser } from './helpers/accounts';
import { sendMessage, streamToEnd } from './helpers/chat';
import { TestDatabase } from './helpers/database';
import { errorCode } from './helpers/http-client';
import { TestApp } from './helpers/test-app';
import type { TestSocket } from './helpers/ws-client';
import { MessageRole, MessageStatus } from '../src/modules/chat/chat-enums';
import { TitleSource } from '../src/modules/chat/chat.model';
import { LlmProvider } from '../src/modules/llm/llm-provider.enum';
import { PartialSaves } from '../src/modules/chat/streaming/partial-saves';

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('sending a prompt and streaming the reply', () => {
  let app: TestApp;
  let user: TestUser;
  let socket: TestSocket;
  beforeAll(async () => {
    app = await TestApp.start({
      chat: { firstByteTimeoutMs: 1_000, idleTimeoutMs: 1_000, retriesBeforeFirstToken: 2 },
    });
    user = await registerUser(app);
    socket = app.socket(user.auth.accessToken);
  });
  afterAll(async () => {
    await socket.dispose();
    await app.stop();
  });
  const token = () => user.auth.accessToken;

  it('should wait as long as a 429 says (retry-after) before trying again, then stream the reply (issue 38)', async () => {
    app.openai.enqueue({ status: 429, retryAfter: '1' });
    app.openai.enqueue({ chunks: ['Patience', '.'] });
    const before = app.openai.streamingRequests().length;
    const sent = await sendMessage(app, token(), { prompt: 'rate limited' });
    const events = await streamToEnd(socket, sent.assistantMessage.id);
    expect(events.at(-1)!.message).toMatchObject({ status: 'COMPLETE', content: 'Patience.' });
    const [refused, retried] = app.openai.streamingRequests().slice(before);
    // Not the SDK's default half-second backoff, nor ours: the second the upstream asked for.
    expect(retried!.receivedAt - refused!.receivedAt).toBeGreaterThanOrEqual(950);
  });

  it('should fail the reply at once, saying when to try again, when a 429 asks for longer than the first byte may take (issue 38)', async () => {
    app.openai.enqueue({ status: 429, retryAfter: '120' });
    const before = app.openai.streamingRequests().length;
    const started = Date.now();
    const sent = await sendMessage(app, token(), { prompt: 'rate limited for long' });
    const events = await streamToEnd(socket, sent.assistantMessage.id);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(events.at(-1)!.message).toMatchObject({
      status: 'FAILED',
      error: expect.stringMatching(/unavailable.*try again in 2 min/),
    });
    expect(app.openai.streamingRequests().length - before).toBe(1);
  });

  it('should reuse one upstream connection for reply after reply (the response is read to its end after [DONE])', async () => {
    app.openai.enqueue({ chunks: ['First', '.'] });
    const first = await sendMessage(app, token(), { prompt: 'one' });
    await streamToEnd(socket, first.assistantMessage.id);
    // The new chat's title request is done too before counting.
    await sleep(100);
    const before = app.openai.connections;
    for (const prompt of ['two', 'three', 'four']) {
      app.openai.enqueue({ chunks: ['Fine', '.'] });
      const sent = await sendMessage(app, token(), { prompt, chatId: first.chat.id });
      const events = await streamToEnd(socket, sent.assistantMessage.id);
      expect(events.at(-1)!.message!.status).toBe('COMPLETE');
    }
    // Three replies in a row, one after the other, on the agent's kept-alive connection.
    expect(app.openai.connections - before).toBeLessThanOrEqual(1);
  });

  it('should save the prompt and a STREAMING reply, stream every delta, then a done event with the COMPLETE message', async () => {
    app.openai.enqueue({
      chunks: ['The', ' sky', ' is', ' blue', '.'],
      delayMs: 5,
      usage: { prompt_tokens: 9, completion_tokens: 5 },
    });
    const payload = await sendMessage(app, token(), { prompt: 'Why is the sky blue?' });
    expect(payload.userMessage).toMatchObject({
      role: 'USER',
      content: 'Why is the sky blue?',
      status: 'COMPLETE',
    });
    expect(payload.assistantMessage).toMatchObject({
      role: 'ASSISTANT',
      status: 'STREAMING',
      content: '',
    });
    expect(payload.chat.title).toBe('Why is the sky blue?');
    expect(payload.chat.messageCount).toBe(2);

    const events = await streamToEnd(socket, payload.assistantMessage.id);
    const last = events.at(-1)!;
    expect(last.done).toBe(true);
    expect(events.slice(0, -1).every((event) => !event.done)).toBe(true);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((event) => event.delta).join('')).toBe('The sky is blue.');
    expect(last.message).toMatchObject({
      id: payload.assistantMessage.id,
      status: 'COMPLETE',
      content: 'The sky is blue.',
      usage: { promptTokens: 9, completionTokens: 5, totalTokens: 14 },
      config: { llm: 'OPEN_AI', chatModel: 'gpt-test' },
    });
    const request = app.openai.streamingRequests().at(-1)!;
    expect(request.body.stream_options).toEqual({ include_usage: true });
  });

  it('should replay the whole reply to a subscriber that arrives after it finished', async () => {
    app.openai.enqueue({ chunks: ['late ', 'but ', 'whole'] });
    const payload = await sendMessage(app, token(), { prompt: 'hello' });
    await waitFor(() => app.openai.streamingRequests().at(-1)?.closedAt !== undefined);
    await sleep(50);
    const events = await streamToEnd(socket, payload.assistantMessage.id);
    expect(
      events
        .filter((e) => !e.done)
        .map((e) => e.delta)
        .join(''),
    ).toBe('late but whole');
    expect(events.at(-1)).toMatchObject({
      done: true,
      message: { status: 'COMPLETE', content: 'late but whole' },
    });
  });

  it('should resume with `after` from where a disconnected client left off, and finish the reply without anyone listening', async () => {
    app.openai.enqueue({ chunks: Array.from({ length: 30 }, (_, i) => `t${i} `), delayMs: 15 });
    const payload = await sendMessage(app, token(), { prompt: 'count' });
    const first = app.socket(token());
    const subscription = first.subscribe(MessageStreamDocument, {
      messageId: payload.assistantMessage.id,
    });
    await subscription.waitForEvents(4);
    await first.dispose(); // the client drops
    const seen = subscription.events.map((e) => e.data!.messageStream);
    const lastSeq = seen.at(-1)!.seq;

    await sleep(200);
    const rest = await streamToEnd(socket, payload.assistantMessage.id, lastSeq);
    expect(rest[0]!.seq).toBe(lastSeq + 1);
    const whole = [...seen, ...rest]
      .filter((e) => !e.done)
      .map((e) => e.delta)
      .join('');
    expect(whole).toBe(Array.from({ length: 30 }, (_, i) => `t${i} `).join(''));
    expect(rest.at(-1)!.message!.content).toBe(whole);
  });

  it('should honour messageStream arguments written as inline literals or under any variable name, mid-stream', async () => {
    app.openai.enqueue({ chunks: Array.from({ length: 20 }, (_, i) => `n${i} `), delayMs: 40 });
    const payload = await sendMessage(app, token(), { prompt: 'count slowly' });
    const id = payload.assistantMessage.id;
    const collect = async (query: string, variables?: Record<string, unknown>) => {
      const events: Array<{ seq: number; delta: string; done: boolean }> = [];
      for await (const result of socket.client.iterate({ query, variables })) {
        if (result.errors) throw new Error(JSON.stringify(result.errors));
        const data = result.data as Record<string, { seq: number; delta: string; done: boolean }>;
        events.push(Object.values(data)[0]!);
      }
      return events;
    };
    // Subscribed while the reply streams: the replay, then live deltas, then done.
    const [literal, renamed] = await Promise.all([
      collect(
        `subscription { reply: messageStream(messageId: "${id}", after: 2) { seq delta done } }`,
      ),
      collect(
        'subscription OnReply($id: ID!, $from: Int) { messageStream(messageId: $id, after: $from) { seq delta done } }',
        { id, from: 2 },
      ),
    ]);
    const whole = await streamToEnd(socket, id);
    const expected = whole
      .filter((event) => event.seq > 2)
      .map(({ seq, delta, done }) => ({ seq, delta, done }));
    expect(literal).toEqual(expected);
    expect(renamed).toEqual(expected);
    expect(literal[0]!.seq).toBe(3);
  });

  it('should coalesce tokens from a fast upstream into fewer deltas', async () => {
    app.openai.enqueue({ chunks: Array.from({ length: 200 }, () => 'x') });
    const payload = await sendMessage(app, token(), { prompt: 'fast' });
    const events = await streamToEnd(socket, payload.assistantMessage.id);
    const deltas = events.filter((e) => !e.done);
    expect(deltas.map((e) => e.delta).join('')).toBe('x'.repeat(200));
    expect(deltas.length).toBeLessThan(50);
  });

  it('should stop a long reply, keep the text so far as STOPPED, and close the upstream request within a second', async () => {
    app.openai.enqueue({ chunks: Array.from({ length: 200 }, (_, i) => `w${i} `), delayMs: 20 });
    const payload = await sendMessage(app, token(), { prompt: 'Talk for a long time.' });
    const subscription = socket.subscribe(MessageStreamDocument, {
      messageId: payload.assistantMessage.id,
    });
    await subscription.waitForEvents(3);
    const stoppedAt = Date.now();
    const { stopGeneration } = await app
      .http()
      .data(StopGenerationDocument, { messageId: payload.assistantMessage.id }, { token: token() });
    expect(stopGeneration.status).toBe('STOPPED');
    expect(stopGeneration.content.startsWith('w0 w1 ')).toBe(true);

    const request = app.openai.streamingRequests().at(-1)!;
    await waitFor(() => request.closedAt !== undefined, 1_000);
    expect(request.closedEarly).toBe(true);
    expect(request.closedAt! - stoppedAt).toBeLessThan(1_000);

    const events = await subscription.untilDone();
    const done = events.at(-1)!.data!.messageStream;
    expect(done).toMatchObject({ done: true, message: { status: 'STOPPED' } });
    expect(events.map((e) => e.data!.messageStream.delta).join('')).toBe(stopGeneration.content);
    const { chat } = await app
      .http()
      .data(ChatDocument, { id: payload.chat.id }, { token: token() });
    expect(chat.messages.at(-1)).toMatchObject({
      status: 'STOPPED',
      content: stopGeneration.content,
    });
    // Stopping a finished reply changes nothing.
    const again = await app
      .http()
      .data(StopGenerationDocument, { messageId: payload.assistantMessage.id }, { token: token() });
    expect(again.stopGeneration.content).toBe(stopGeneration.content);
  });

  it('should settle a reply that streams in no process as STOPPED, keeping its text, when stopped by several calls at once', async () => {
    // A reply whose writer is gone without a restart to mark it (no reply of this process holds it).
    const payload = await sendMessage(app, token(), { prompt: 'short' });
    await streamToEnd(socket, payload.assistantMessage.id);
    await app.app.models.Message.collection.updateOne(
      { _id: new Types.ObjectId(payload.assistantMessage.id) },
      { $set: { status: MessageStatus.STREAMING, content: 'half of it' } },
    );
    const stops = await Promise.all(
      Array.from({ length: 5 }, () =>
        app
          .http()
          .data(
            StopGenerationDocument,
            { messageId: payload.assistantMessage.id },
            { token: token() },
          ),
      ),
    );
    for (const { stopGeneration } of stops) {
      expect(stopGeneration).toMatchObject({ status: 'STOPPED', content: 'half of it' });
    }
    const stored = await app.app.models.Message.findById(payload.assistantMessage.id).lean();
    expect(stored).toMatchObject({ status: MessageStatus.STOPPED, content: 'half of it' });
  });

  it('should retry an upstream 500 that comes before the first token', async () => {
    app.openai.enqueue({ status: 500 }, { chunks: ['recovered'] });
    const payload = await sendMessage(app, token(), { prompt: 'flaky' });
    const events = await streamToEnd(socket, payload.assistantMessage.id);
    expect(events.at(-1)!.message).toMatchObject({ status: 'COMPLETE', content: 'recovered' });
  });

  it('should end FAILED with an error when the upstream keeps answering 500', async () => {
    app.openai.enqueue({ status: 500 }, { status: 500 }, { status: 500 });
    const before = app.openai.streamingRequests().length;
    const payload = await sendMessage(app, token(), { prompt: 'broken' });
    const events = await streamToEnd(socket, payload.assistantMessage.id);
    expect(events).toHaveLength(1);
    expect(events[0]!.message).toMatchObject({
      status: 'FAILED',
      content: '',
      error: 'The model failed (HTTP 500).',
    });
    expect(app.openai.streamingRequests().length - before).toBe(3);
  });

  it('should save the text of replies still streaming about once a second, all replies in one command', async () => {
    const words = (prefix: string) => ({
      generated: { count: 12, text: (i: number) => `${prefix}${i} ` },
      delayMs: 300,
    });
    app.openai.enqueue(words('a'), words('b'));
    const first = await sendMessage(app, token(), { prompt: 'slow one' });
    const second = await sendMessage(app, token(), { prompt: 'slow two' });
    const ids = [first.assistantMessage.id, second.assistantMessage.id];
    await sleep(1_200);

    const commands = await app.countCommands(() => sleep(2_000));
    const saves = commands.names.filter((name) => name === 'update messages');
    // Two replies, two seconds: one batch a second carries both (not one command per reply).
    expect(saves.length).toBeGreaterThanOrEqual(1);
    expect(saves.length).toBeLessThanOrEqual(3);
    const read = () => Promise.all(ids.map((id) => app.app.models.Message.findById(id).lean()));
    for (const message of await read()) {
      expect(message!.status).toBe(MessageStatus.STREAMING);
      expect(message!.content).toMatch(/^[ab]0 [ab]1 [ab]2 /);
    }

    for (const id of ids) {
      const events = await streamToEnd(socket, id);
      expect(events.at(-1)!.message).toMatchObject({ status: 'COMPLETE' });
    }
    const final = await read();
    expect(final.map((message) => message!.content.split(' ').length - 1)).toEqual([12, 12]);
  });

  it('should end FAILED with the partial text when the upstream drops mid-stream, without retrying', async () => {
    // The delay makes the first chunks reach the client before the drop (a drop before any
    // byte would rightly be retried).
    app.openai.enqueue({
      chunks: ['partial ', 'answer ', 'never ', 'finished'],
      dropAfterChunks: 2,
      delayMs: 20,
    });
    const before = app.openai.streamingRequests().length;
    const payload = await sendMessage(app, token(), { prompt: 'drop' });
    const events = await streamToEnd(socket, payload.assistantMessage.id);
    const done = events.at(-1)!;
    expect(done.message).toMatchObject({ status: 'FAILED', content: 'partial answer ' });
    expect(done.message!.error).toBeTruthy();
    expect(
      events
        .filter((e) => !e.done)
        .map((e) => e.delta)
        .join(''),
    ).toBe('partial answer ');
    expect(app.openai.streamingRequests().length - before).toBe(1);
  });

  it('should read events and UTF-8 characters cut anywhere by the network, exactly', async () => {
    const chunks = ['Grüße ', '🌍🚀 ', 'naïve ', '日本語', ' done'];
    app.openai.enqueue({ chunks, writeInPiecesOf: 3 });
    const payload = await sendMessage(app, token(), { prompt: 'pieces' });
    const events = await streamToEnd(socket, payload.assistantMessage.id);
    expect(events.at(-1)!.message).toMatchObject({ status: 'COMPLETE', content: chunks.join('') });
  });

  it.each([
    ['an unreadable chunk', 'data: {"choices": [oops\n\n'],
    ['an error event', 'event: error\ndata: {"error":{"message":"overloaded"}}\n\n'],
    ['an error chunk', 'data: {"error":{"message":"overloaded","type":"server_error"}}\n\n'],
  ])('should end FAILED with the text so far when the upstream sends %s', async (_name, text) => {
    app.openai.enqueue({ chunks: ['before ', 'after'], rawAfterChunks: { after: 1, text } });
    const payload = await sendMessage(app, token(), { prompt: 'broken stream' });
    const events = await streamToEnd(socket, payload.assistantMessage.id);
    const done = events.at(-1)!;
    expect(done.message).toMatchObject({ status: 'FAILED', content: 'before ' });
    expect(done.message!.error).toBeTruthy();
    expect(done.message!.error).not.toMatch(/overloaded|oops/); // upstream text is not shown
  });

  it('should end FAILED with the text so far when the upstream goes quiet mid-reply', async () => {
    app.openai.enqueue({ chunks: ['half ', 'a ', 'thought'], stallAfterChunks: 2 });
    const payload = await sendMessage(app, token(), { prompt: 'stall' });
    const started = Date.now();
    const events = await streamToEnd(socket, payload.assistantMessage.id);
    // The idle timeout is 1 s here; chunks that keep arriving must not be cut by it.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(events.at(-1)!.message).toMatchObject({
      status: 'FAILED',
      content: 'half a ',
      error: expect.stringMatching(/sent nothing/),
    });
  });

  it('should end FAILED when the upstream hangs past the timeout', async () => {
    app.openai.enqueue({ hang: true }, { hang: true }, { hang: true });
    const payload = await sendMessage(app, token(), { prompt: 'hang' });
    const events = await streamToEnd(socket, payload.assistantMessage.id);
    expect(events.at(-1)!.message).toMatchObject({
      status: 'FAILED',
      error: 'The model did not answer in time.',
    });
  });

  it('should stop the reply and remove everything when its chat is deleted mid-stream', async () => {
    app.openai.enqueue({ chunks: Array.from({ length: 200 }, (_, i) => `d${i} `), delayMs: 20 });
    const payload = await sendMessage(app, token(), { prompt: 'to be deleted' });
    const subscription = socket.subscribe(MessageStreamDocument, {
      messageId: payload.assistantMessage.id,
    });
    await subscription.waitForEvents(2);
    const { deleteChat } = await app
      .http()
      .data(DeleteChatDocument, { id: payload.chat.id }, { token: token() });
    expect(deleteChat).toBe(true);
    const request = app.openai.streamingRequests().at(-1)!;
    await waitFor(() => request.closedAt !== undefined, 1_000);
    const events = await subscription.untilDone();
    expect(events.at(-1)!.data!.messageStream).toMatchObject({ done: true, message: null });
    expect(await app.app.models.Message.countDocuments({ chatId: payload.chat.id })).toBe(0);
    expect(
      errorCode(
        await app.http().request(ChatDocument, { id: payload.chat.id }, { token: token() }),
      ),
    ).toBe('NOT_FOUND');
    const { chats } = await app.http().data(ChatsDocument, {}, { token: token() });
    expect(chats.nodes.map((c) => c.id)).not.toContain(payload.chat.id);
  });
});

describe('a reply that never ends', () => {
  it('should be cut off FAILED at its deadline with the text so far, its upstream closed, and ask the model for at most LLM_MAX_REPLY_TOKENS', async () => {
    const app = await TestApp.start({
      chat: { maxReplyMs: 1_000, coalesceMs: 0 },
      env: { LLM_MAX_REPLY_TOKENS: '321' },
    });
    try {
      const user = await registerUser(app);
      const socket = app.socket(user.auth.accessToken);
      // A drip just fast enough for the idle timer: a token every 300 ms, forever.
      app.openai.enqueue({ chunks: Array.from({ length: 100 }, (_, i) => `d${i} `), delayMs: 300 });
      const payload = await sendMessage(app, user.auth.accessToken, { prompt: 'drip' });
      const events = await streamToEnd(socket, payload.assistantMessage.id);
      await socket.dispose();
      const last = events.at(-1)!.message!;
      expect(last.status).toBe('FAILED');
      expect(last.error).toMatch(/took longer than 1 s/);
      expect(last.content).toMatch(/^d0 d1 /);
      expect(last.content.length).toBeLessThan('d0 '.length * 10);
      const request = app.openai.streamingRequests().at(-1)!;
      expect(request.body.max_tokens).toBe(321);
      await waitFor(() => request.closedAt !== undefined, 1_000);
      expect(request.closedEarly).toBe(true);
    } finally {
      await app.stop();
    }
  });
});

describe('a reply whose machinery fails', () => {
  it('should end FAILED with its text, give subscribers their done event, and leave no unhandled rejection', async () => {
    const app = await TestApp.start();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const untrack = jest
      .spyOn(PartialSaves.prototype, 'untrack')
      .mockRejectedValueOnce(new Error('forced failure at the end of a reply'));
    try {
      const user = await registerUser(app);
      const socket = app.socket(user.auth.accessToken);
      app.openai.enqueue({ chunks: ['partly', ' there'], delayMs: 5 });
      const payload = await sendMessage(app, user.auth.accessToken, { prompt: 'fail inside' });
      const events = await streamToEnd(socket, payload.assistantMessage.id);
      await socket.dispose();
      expect(events.at(-1)!.message).toMatchObject({
        status: 'FAILED',
        content: 'partly there',
        error: 'The reply could not be completed.',
      });
      await waitFor(() => app.app.replies.size === 0);
      await sleep(50);
      expect(unhandled).toEqual([]);
    } finally {
      untrack.mockRestore();
      process.off('unhandledRejection', onUnhandled);
      await app.stop();
    }
  });
});

(process.env.MONGODB_URL ? describe.skip : describe)(
  'a reply that ends while the database is down',
  () => {
    if (process.env.MONGODB_URL) console.log('skipped: stopping the database needs the local one');
    it('should save its end once the database is back, and give subscribers the saved message then', async () => {
      const app = await TestApp.start({ chat: { coalesceMs: 0 } });
      try {
        const user = await registerUser(app);
        const socket = app.socket(user.auth.accessToken);
        const chunks = Array.from({ length: 10 }, (_, i) => `e${i} `);
        app.openai.enqueue({
          chunks,
          delayMs: 80,
          usage: { prompt_tokens: 3, completion_tokens: 10 },
        });
        const payload = await sendMessage(app, user.auth.accessToken, {
          prompt: 'end during a blip',
        });
        const subscription = socket.subscribe(MessageStreamDocument, {
          messageId: payload.assistantMessage.id,
        });
        await subscription.waitForEvents(8);
        app.db.server!.kill(); // the database goes away just before the reply's last tokens
        await waitFor(() => app.openai.streamingRequests().at(-1)!.closedAt !== undefined, 3_000);
        // Longer than the driver's 5 s server selection, so the final save fails outright.
        await sleep(6_500);
        expect(subscription.events.some((event) => event.data?.messageStream.done)).toBe(false);
        await app.db.server!.start();
        const events = await subscription.untilDone(20_000);
        const last = events.at(-1)!.data!.messageStream;
        expect(last.message).toMatchObject({
          status: 'COMPLETE',
          content: chunks.join(''),
          usage: { totalTokens: 13 },
        });
        const saved = await app.app.models.Message.findById(payload.assistantMessage.id).lean();
        expect(saved).toMatchObject({ status: MessageStatus.COMPLETE, content: chunks.join('') });
        await socket.dispose();
      } finally {
        await app.stop();
      }
    }, 40_000);
  },
);

describe('replies across a server stop', () => {
  it('should refuse new prompts with a retryable SERVICE_UNAVAILABLE as soon as shutdown begins, while replies finish', async () => {
    const app = await TestApp.start({ chat: { shutdownGraceMs: 1_000 } });
    try {
      const user = await registerUser(app);
      app.openai.enqueue({ chunks: Array.from({ length: 20 }, (_, i) => `g${i} `), delayMs: 20 });
      const payload = await sendMessage(app, user.auth.accessToken, { prompt: 'finishing' });
      await waitFor(() => app.openai.streamingRequests().length > 0);
      const before = await app.app.models.Message.countDocuments({});
      const stopping = app.stopApp();
      const late = await app
        .http()
        .raw(
          'mutation { sendMessage(input: { prompt: "too late" }) { assistantMessage { id } } }',
          undefined,
          { token: user.auth.accessToken },
        );
      expect(errorCode(late)).toBe('SERVICE_UNAVAILABLE');
      expect(late.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
      await stopping;
      const connection = await app.db.connect();
      const messages = connection.connection.collection('messages');
      expect(await messages.countDocuments({})).toBe(before); // nothing of the late prompt saved
      const saved = await messages.findOne({
        _id: new Types.ObjectId(payload.assistantMessage.id),
      });
      expect(saved?.status).toBe(MessageStatus.COMPLETE); // it finished within the grace period
    } finally {
      await app.stop().catch(() => undefined);
    }
  });

  it('should save a reply still streaming at shutdown as INTERRUPTED, after the grace period', async () => {
    const app = await TestApp.start({ chat: { shutdownGraceMs: 300 } });
    try {
      const user = await registerUser(app);
      app.openai.enqueue({ chunks: Array.from({ length: 500 }, (_, i) => `s${i} `), delayMs: 20 });
      const payload = await sendMessage(app, user.auth.accessToken, { prompt: 'long' });
      await waitFor(() => app.openai.streamingRequests().length > 0);
      await sleep(150);
      await app.stopApp();
      const connection = await app.db.connect();
      const saved = await connection.connection
        .collection('messages')
        .findOne({ _id: new Types.ObjectId(payload.assistantMessage.id) });
      expect(saved?.status).toBe(MessageStatus.INTERRUPTED);
      expect(String(saved?.content)).toMatch(/^s0 /);
    } finally {
      await app.stop().catch(() => undefined);
    }
  });

  it('should mark replies left STREAMING by a process that died as INTERRUPTED at the next start', async () => {
    const db = await TestDatabase.start();
    try {
      const first = await TestApp.start({ database: db });
      const user = await registerUser(first);
      const chatId = new Types.ObjectId();
      const userId = new Types.ObjectId(user.auth.user.id);
      // What a killed process leaves behind: a chat whose reply never got its final save.
      await first.app.models.Chat.create({
        _id: chatId,
        userId,
        title: 't',
        titleSource: TitleSource.USER,
        config: { llm: LlmProvider.ECHO, chatModel: 'echo-1' },
        messageCount: 2,
      });
      await first.app.models.Message.create([
        {
          chatId,
          userId,
          position: 1,
          role: MessageRole.USER,
          content: 'q',
          status: MessageStatus.COMPLETE,
        },
        {
          chatId,
          userId,
          position: 2,
          role: MessageRole.ASSISTANT,
          content: 'half an ans',
          status: MessageStatus.STREAMING,
        },
      ]);
      await first.stop();

      const second = await TestApp.start({ database: db });
      try {
        const login = await second
          .http()
          .data(LoginDocument, { input: { email: user.email, password: user.password } });
        const { chat } = await second
          .http()
          .data(ChatDocument, { id: String(chatId) }, { token: login.login.accessToken });
        expect(chat.messages.at(-1)).toMatchObject({
          status: 'INTERRUPTED',
          content: 'half an ans',
        });
        const socket = second.socket(login.login.accessToken);
        const events = await streamToEnd(socket, chat.messages.at(-1)!.id);
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ done: true, message: { status: 'INTERRUPTED' } });
        await socket.dispose();
      } finally {
        await second.stop();
      }
    } finally {
      await db.stop();
    }
  });
});
