import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChatBranchDocument,
  ChatDocument,
  ChatEventsDocument,
  ChatsDocument,
  EditMessageDocument,
  RegenerateReplyDocument,
  ShareChatDocument,
  SharedChatDocument,
  SwitchBranchDocument,
  UnshareChatDocument,
  UpdateChatDocument,
  DeleteChatDocument,
  LoginDocument,
  LogoutDocument,
  MessageStreamDocument,
  SendMessageDocument,
  StopGenerationDocument,
} from './gql/graphql';
import { registerUser, type TestUser } from './helpers/accounts';
import { sendMessage, streamToEnd } from './helpers/chat';
import { TestDatabase } from './helpers/database';
import { errorCode } from './helpers/http-client';
import { TestRedis } from './helpers/redis-server';
import { TestApp } from './helpers/test-app';
import type { TestSocket } from './helpers/ws-client';
import { MessageStatus } from '../src/modules/chat/chat-enums';
import { replyKeys } from '../src/modules/chat/streaming/cluster/redis-reply-keys';

async function waitFor<T>(probe: () => Promise<T> | T, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(25);
  }
}

/** Short leases so that the takeover cases run in seconds; the mechanism is the same. */
const CLUSTER_TIMING = { leaseMs: 1_500, heartbeatMs: 400, sweepMs: 300, databaseCheckMs: 2_000 };

/**
 * Two instances, A and B, on one database and one real redis-server: any instance serves any
 * reply's stream, loses no delta, and stops or ends a reply written by another.
 */
describe('a cluster of two instances on Redis', () => {
  let redis: TestRedis;
  let database: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let user: TestUser;
  let onA: TestSocket;
  let onB: TestSocket;

  beforeAll(async () => {
    [redis, database] = await Promise.all([TestRedis.start(), TestDatabase.start()]);
    const options = {
      database,
      env: { REDIS_URL: redis.url },
      chat: { cluster: CLUSTER_TIMING },
      rateLimits: { loginFailuresPerEmail: { points: 3, durationSeconds: 60 } },
    };
    a = await TestApp.start(options);
    b = await TestApp.start(options);
    user = await registerUser(a);
    onA = a.socket(user.auth.accessToken);
    onB = b.socket(user.auth.accessToken);
  });
  afterAll(async () => {
    await Promise.all([onA?.dispose(), onB?.dispose()]);
    await a?.stop();
    await b?.stop();
    await database?.stop();
    await redis?.dispose();
  });
  const token = () => user.auth.accessToken;
  const words = (count: number, prefix = 'w') =>
    Array.from({ length: count }, (_, i) => `${prefix}${i} `);

  async function savedReply(messageId: string) {
    return a.app.models.Message.findById(messageId).lean();
  }

  function expectExactlyOnceInOrder(events: Array<{ seq: number; done: boolean }>, from = 1) {
    expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => from + i));
    expect(events.at(-1)!.done).toBe(true);
    expect(events.slice(0, -1).every((event) => !event.done)).toBe(true);
  }

  it('should stream a reply written on A to a subscriber on B, every seq once and in order, then the saved message', async () => {
    a.openai.enqueue({
      chunks: words(60),
      delayMs: 5,
      usage: { prompt_tokens: 3, completion_tokens: 60 },
    });
    const payload = await sendMessage(a, token(), { prompt: 'across instances' });
    const events = await streamToEnd(onB, payload.assistantMessage.id);
    expectExactlyOnceInOrder(events);
    const text = events.map((event) => event.delta).join('');
    expect(text).toBe(words(60).join(''));
    expect(events.at(-1)!.message).toMatchObject({ status: 'COMPLETE', content: text });
    expect((await savedReply(payload.assistantMessage.id))!.content).toBe(text);
  });

  it("should not let another user follow a reply on B by writing themselves into the reply's meta in Redis", async () => {
    a.openai.enqueue({ chunks: words(40, 'p'), delayMs: 20 });
    const payload = await sendMessage(a, token(), { prompt: 'private' });
    const messageId = payload.assistantMessage.id;
    const intruder = await registerUser(b);
    // Whoever can write to Redis claims the reply: the database still says whose it is.
    await redis.admin.connect().catch(() => undefined);
    await redis.admin.hset(replyKeys.meta(messageId), 'userId', intruder.auth.user.id);
    const socket = b.socket(intruder.auth.accessToken);
    const subscription = socket.subscribe(MessageStreamDocument, { messageId });
    const events = await subscription.untilDone();
    expect(subscription.refusalCode()).toBe('NOT_FOUND');
    expect(JSON.stringify(events)).not.toContain('p1 ');
    await socket.dispose();
    // The owner still follows it on B, whatever the meta says.
    const owned = await streamToEnd(onB, messageId);
    expect(owned.at(-1)).toMatchObject({ done: true, message: { status: 'COMPLETE' } });
  });

  it('should resume on B after a client left A at seq k with exactly k+1..N, and replay a finished reply on B', async () => {
    a.openai.enqueue({ chunks: words(80, 'r'), delayMs: 10 });
    const payload = await sendMessage(a, token(), { prompt: 'drop and resume elsewhere' });
    const first = a.socket(token());
    const subscription = first.subscribe(MessageStreamDocument, {
      messageId: payload.assistantMessage.id,
    });
    const seen = await subscription.waitForEvents(10);
    const k = seen.at(-1)!.data!.messageStream.seq;
    await first.dispose();
    const rest = await streamToEnd(onB, payload.assistantMessage.id, k);
    expectExactlyOnceInOrder(rest, k + 1);
    const before = seen.map((event) => event.data!.messageStream.delta).join('');
    expect(before + rest.map((event) => event.delta).join('')).toBe(words(80, 'r').join(''));

    // Finished: B replays it from the log, or gives the done event alone; either is whole.
    const replay = await streamToEnd(onB, payload.assistantMessage.id);
    const done = replay.at(-1)!;
    expect(done).toMatchObject({ done: true, message: { status: 'COMPLETE' } });
    if (replay.length > 1) {
      expectExactlyOnceInOrder(replay);
      expect(replay.map((event) => event.delta).join('')).toBe(done.message!.content);
    }
  });

  it('should still deliver every seq once and in order when the pub/sub connections are killed twice mid-stream', async () => {
    a.openai.enqueue({ chunks: words(120, 'k'), delayMs: 10 });
    const payload = await sendMessage(a, token(), { prompt: 'kill the subscribers' });
    const subscription = onB.subscribe(MessageStreamDocument, {
      messageId: payload.assistantMessage.id,
    });
    await subscription.waitForEvents(5);
    await redis.admin.connect().catch(() => {});
    await redis.admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await sleep(300);
    await redis.admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    const events = (await subscription.untilDone(20_000)).map((event) => event.data!.messageStream);
    expectExactlyOnceInOrder(events);
    expect(events.map((event) => event.delta).join('')).toBe(words(120, 'k').join(''));
  });

  it('should stop from B a reply written on A within a second: upstream aborted, text kept, both subscribers told', async () => {
    a.openai.enqueue({
      chunks: words(300, 's'),
      delayMs: 20,
      usage: { prompt_tokens: 2, completion_tokens: 9 },
    });
    const payload = await sendMessage(a, token(), { prompt: 'stop me from elsewhere' });
    const messageId = payload.assistantMessage.id;
    const subA = onA.subscribe(MessageStreamDocument, { messageId });
    const subB = onB.subscribe(MessageStreamDocument, { messageId });
    await Promise.all([subA.waitForEvents(3), subB.waitForEvents(3)]);
    const stoppedAt = Date.now();
    const { stopGeneration } = await b
      .http()
      .data(StopGenerationDocument, { messageId }, { token: token() });
    expect(Date.now() - stoppedAt).toBeLessThan(1_000);
    expect(stopGeneration.status).toBe('STOPPED');
    const request = a.openai.streamingRequests().at(-1)!;
    await waitFor(() => request.closedAt !== undefined, 1_000);
    expect(request.closedEarly).toBe(true);
    for (const subscription of [subA, subB]) {
      const events = (await subscription.untilDone()).map((event) => event.data!.messageStream);
      expect(events.at(-1)).toMatchObject({ done: true, message: { status: 'STOPPED' } });
      expect(events.map((event) => event.delta).join('')).toBe(stopGeneration.content);
    }
    const saved = await savedReply(messageId);
    expect(saved).toMatchObject({ status: MessageStatus.STOPPED, content: stopGeneration.content });
  });

  it('should stop a reply written on A when its chat is deleted on B, and resurrect nothing', async () => {
    a.openai.enqueue({ chunks: words(300, 'd'), delayMs: 20 });
    const payload = await sendMessage(a, token(), { prompt: 'delete me from elsewhere' });
    const subA = onA.subscribe(MessageStreamDocument, { messageId: payload.assistantMessage.id });
    await subA.waitForEvents(3);
    const { deleteChat } = await b
      .http()
      .data(DeleteChatDocument, { id: payload.chat.id }, { token: token() });
    expect(deleteChat).toBe(true);
    const request = a.openai.streamingRequests().at(-1)!;
    await waitFor(() => request.closedAt !== undefined, 1_000);
    const events = await subA.untilDone();
    expect(events.at(-1)!.data!.messageStream).toMatchObject({ done: true, message: null });
    await sleep(1_500); // partial saves and a late final save would show by now
    expect(await a.app.models.Message.countDocuments({ chatId: payload.chat.id })).toBe(0);
    expect(
      errorCode(await b.http().request(ChatDocument, { id: payload.chat.id }, { token: token() })),
    ).toBe('NOT_FOUND');
  });

  it('should share the 3-replies cap across instances: alternating sends on A and B start at most 3', async () => {
    const other = await registerUser(a);
    for (const app of [a, b]) app.openai.defaultReply = { chunks: words(100, 'c'), delayMs: 20 };
    try {
      const SEND =
        'mutation S($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }';
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 === 0 ? a : b)
            .http()
            .raw(SEND, { input: { prompt: `cap ${i}` } }, { token: other.auth.accessToken }),
        ),
      );
      const codes = results.map((result) => String(errorCode(result) ?? 'OK'));
      expect(codes.filter((code) => code === 'OK')).toHaveLength(3);
      expect(codes.filter((code) => code === 'RATE_LIMITED')).toHaveLength(5);
      for (const result of results.filter((r) => !r.errors)) {
        const id = (result.data!.sendMessage as { assistantMessage: { id: string } })
          .assistantMessage.id;
        await b
          .http()
          .data(StopGenerationDocument, { messageId: id }, { token: other.auth.accessToken });
      }
      // Stopped replies give their slots back: a new send is accepted.
      const again = await b
        .http()
        .raw(SEND, { input: { prompt: 'after the stops' } }, { token: other.auth.accessToken });
      expect(errorCode(again)).toBeUndefined();
    } finally {
      for (const app of [a, b]) app.openai.defaultReply = { chunks: ['ok'] };
    }
  });

  it('should count failed sign-ins for one address across instances', async () => {
    const codes: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const result = await (i % 2 === 0 ? a : b)
        .http()
        .request(LoginDocument, { input: { email: user.email, password: 'wrong-password-1' } });
      codes.push(String(errorCode(result) ?? 'OK'));
    }
    expect(codes.slice(0, 3).every((code) => code !== 'RATE_LIMITED')).toBe(true);
    expect(codes[3]).toBe('RATE_LIMITED');
  });

  it('should end a reply INTERRUPTED when Redis forgets it (FLUSHALL)', async () => {
    a.openai.enqueue({ chunks: words(400, 'f'), delayMs: 20 });
    const payload = await sendMessage(a, token(), { prompt: 'flushed away' });
    const subA = onA.subscribe(MessageStreamDocument, { messageId: payload.assistantMessage.id });
    await subA.waitForEvents(3);
    await redis.admin.connect().catch(() => {});
    await redis.admin.flushall();
    const saved = await waitFor(async () => {
      const reply = await savedReply(payload.assistantMessage.id);
      return reply && reply.status !== MessageStatus.STREAMING ? reply : null;
    }, 30_000);
    expect(saved!.status).toBe(MessageStatus.INTERRUPTED);
    const events = await subA.untilDone();
    expect(events.at(-1)!.data!.messageStream.done).toBe(true);
  });

  it("should not take over a live instance's reply when Redis loses its lease for a moment (a flush, a failover)", async () => {
    // A live owner sets its lease again on its next heartbeat; a sweep in between must not
    // take the owner for dead (it did: the reply ended INTERRUPTED on a healthy instance).
    for (let round = 0; round < 3; round++) {
      a.openai.enqueue({ chunks: words(40, `l${round}`), delayMs: 20 });
      const payload = await sendMessage(a, token(), { prompt: `lease lost ${round}` });
      const messageId = payload.assistantMessage.id;
      const owner = await waitFor(
        () => redis.admin.hget(`palaver:reply:${messageId}:meta`, 'owner'),
        2_000,
      );
      await redis.admin.del(`palaver:instance:${owner}:lease`);
      const events = await streamToEnd(onB, messageId);
      expectExactlyOnceInOrder(events);
      expect(events.at(-1)!.message).toMatchObject({
        status: 'COMPLETE',
        content: words(40, `l${round}`).join(''),
      });
    }
  });

  it('should keep both processes up and finish and save a reply when Redis goes away mid-stream, with limits falling back', async () => {
    a.openai.enqueue({ chunks: words(60, 'x'), delayMs: 20 });
    const payload = await sendMessage(a, token(), { prompt: 'redis goes away' });
    const subA = onA.subscribe(MessageStreamDocument, { messageId: payload.assistantMessage.id });
    await subA.waitForEvents(3);
    await redis.stop();
    try {
      const events = (await subA.untilDone(20_000)).map((event) => event.data!.messageStream);
      expectExactlyOnceInOrder(events);
      expect(events.at(-1)!.message).toMatchObject({
        status: 'COMPLETE',
        content: words(60, 'x').join(''),
      });
      // New prompts are still taken (the cap and the limits count per instance meanwhile).
      const sent = await b
        .http()
        .request(SendMessageDocument, { input: { prompt: 'still here' } }, { token: token() });
      expect(errorCode(sent)).toBeUndefined();
      const reply = (sent.data as { sendMessage: { assistantMessage: { id: string } } }).sendMessage
        .assistantMessage.id;
      const replyEvents = await streamToEnd(onB, reply);
      expect(replyEvents.at(-1)!.message).toMatchObject({ status: 'COMPLETE' });
    } finally {
      await redis.start();
    }
  });

  it('should close on B the sockets of a session ended on A within a second, even with its Redis connections killed at that moment', async () => {
    for (const kill of [false, true]) {
      const someone = await registerUser(a);
      const socket = b.socket(someone.auth.accessToken);
      await socket.connected;
      if (kill) await redis.admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      await a
        .http()
        .data(
          LogoutDocument,
          { refreshToken: someone.auth.refreshToken },
          { token: someone.auth.accessToken },
        );
      // From the moment A answered that the session ended.
      const endedAt = Date.now();
      const closed = await socket.nextClose(3_000);
      expect(closed.code).toBe(4403);
      expect(Date.now() - endedAt).toBeLessThan(1_000);
      await socket.dispose();
    }
  });

  describe('branches, organizing and sharing across the instances', () => {
    const upstreamCalls = () =>
      a.openai.streamingRequests().length + b.openai.streamingRequests().length;
    const branchOn = async (app: TestApp, chatId: string) =>
      (await app.http().data(ChatBranchDocument, { id: chatId }, { token: token() })).chat.messages;

    async function exchangeOn(app: TestApp, prompt: string, reply: string, chatId?: string) {
      app.openai.enqueue({ chunks: [reply] });
      const sent = await sendMessage(app, token(), { prompt, chatId });
      await streamToEnd(app === a ? onA : onB, sent.assistantMessage.id);
      return sent;
    }

    it('should stream an edit made on A to B, and stop from A a regeneration written by B', async () => {
      const first = await exchangeOn(a, 'tree root', 'root reply');
      const second = await exchangeOn(a, 'tree leaf', 'leaf reply', first.chat.id);
      a.openai.enqueue({ chunks: words(30, 'e'), delayMs: 5 });
      const edited = (
        await a
          .http()
          .data(
            EditMessageDocument,
            { input: { messageId: second.userMessage.id, prompt: 'tree leaf, edited' } },
            { token: token() },
          )
      ).editMessage;
      const events = await streamToEnd(onB, edited.assistantMessage.id);
      expectExactlyOnceInOrder(events);
      expect(events.at(-1)!.message!.content).toBe(words(30, 'e').join(''));

      const bCalls = b.openai.streamingRequests().length;
      b.openai.enqueue({ chunks: words(400, 's'), delayMs: 20 });
      const regenerated = (
        await b
          .http()
          .data(
            RegenerateReplyDocument,
            { input: { messageId: edited.assistantMessage.id } },
            { token: token() },
          )
      ).regenerateReply;
      await waitFor(() => b.openai.streamingRequests().length > bCalls, 5_000);
      expect(
        b.openai
          .streamingRequests()
          .at(-1)!
          .body.messages.map((m) => m.content),
      ).toEqual(['tree root', 'root reply', 'tree leaf, edited']);
      const watching = [onA, onB].map((socket) =>
        socket.subscribe(MessageStreamDocument, { messageId: regenerated.assistantMessage.id }),
      );
      await Promise.all(watching.map((subscription) => subscription.waitForEvents(3)));
      const stopped = await a
        .http()
        .data(
          StopGenerationDocument,
          { messageId: regenerated.assistantMessage.id },
          { token: token() },
        );
      expect(stopped.stopGeneration.status).toBe('STOPPED');
      for (const subscription of watching) {
        const got = await subscription.untilDone(5_000);
        expect(got.at(-1)!.data!.messageStream.message).toMatchObject({ status: 'STOPPED' });
      }
      const shown = await branchOn(b, first.chat.id);
      expect(shown.at(-1)).toMatchObject({
        id: regenerated.assistantMessage.id,
        siblingIds: [edited.assistantMessage.id, regenerated.assistantMessage.id],
        status: 'STOPPED',
      });
    });

    it('should continue on A from a branch switched on B, with only that branch in the history', async () => {
      const first = await exchangeOn(b, 'switch root', 'switch reply');
      const original = await exchangeOn(b, 'original question', 'original answer', first.chat.id);
      a.openai.enqueue({ chunks: ['edited answer'] });
      const edited = (
        await a
          .http()
          .data(
            EditMessageDocument,
            { input: { messageId: original.userMessage.id, prompt: 'edited question' } },
            { token: token() },
          )
      ).editMessage;
      await streamToEnd(onA, edited.assistantMessage.id);
      await b
        .http()
        .data(SwitchBranchDocument, { messageId: original.userMessage.id }, { token: token() });
      expect((await branchOn(a, first.chat.id)).map((m) => m.content)).toEqual([
        'switch root',
        'switch reply',
        'original question',
        'original answer',
      ]);
      const next = await exchangeOn(a, 'follow-up', 'done', first.chat.id);
      expect(next.userMessage.parentId).toBe(original.assistantMessage.id);
      expect(
        a.openai
          .streamingRequests()
          .at(-1)!
          .body.messages.map((m) => m.content),
      ).toEqual([
        'switch root',
        'switch reply',
        'original question',
        'original answer',
        'follow-up',
      ]);
    });

    it('should start one reply for an editMessage retried on both instances at once', async () => {
      const first = await exchangeOn(a, 'retry root', 'retry reply');
      const before = upstreamCalls();
      const input = {
        messageId: first.userMessage.id,
        prompt: 'retry root, edited',
        clientMessageId: `cluster-edit-${Date.now()}`,
      };
      const results = await Promise.all(
        [a, b, a, b].map((app) =>
          app.http().data(EditMessageDocument, { input }, { token: token() }),
        ),
      );
      const replies = new Set(results.map((r) => r.editMessage.assistantMessage.id));
      expect(replies.size).toBe(1);
      await streamToEnd(onB, [...replies][0]!);
      expect(upstreamCalls() - before).toBe(1);
      expect((await branchOn(b, first.chat.id))[0]!.siblingIds).toHaveLength(2);
    });

    it('should share on A and read on B, revoke on B and refuse on A, and push tag changes to B', async () => {
      const first = await exchangeOn(a, 'share across', 'shared reply');
      const link = (
        await a.http().data(ShareChatDocument, { id: first.chat.id }, { token: token() })
      ).shareChat;
      const read = await b.http().data(SharedChatDocument, { token: link.token });
      expect(read.sharedChat.messages.map((m) => m.content)).toEqual([
        'share across',
        'shared reply',
      ]);
      await b.http().data(UnshareChatDocument, { shareId: link.id }, { token: token() });
      expect(errorCode(await a.http().request(SharedChatDocument, { token: link.token }))).toBe(
        'NOT_FOUND',
      );

      const events = onB.subscribe(ChatEventsDocument, {});
      await sleep(200);
      await a
        .http()
        .data(
          UpdateChatDocument,
          { id: first.chat.id, input: { tags: ['Cluster'], pinned: true } },
          { token: token() },
        );
      await waitFor(
        () =>
          events.events.some(
            (e) =>
              e.data?.chatEvents.type === 'UPDATED' && e.data.chatEvents.chatId === first.chat.id,
          ),
        5_000,
      );
      events.unsubscribe();
      const onBList = await b
        .http()
        .data(ChatsDocument, { filter: { tag: 'cluster', pinned: true } }, { token: token() });
      expect(onBList.chats.nodes.map((c) => c.id)).toEqual([first.chat.id]);
    });
  });

  it('should serve Prometheus metrics: streams, deltas, replays, gap fills, Redis and database round trips', async () => {
    const scrape = async (app: TestApp) => {
      const response = await fetch(`${app.baseUrl}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      const values = new Map<string, number>();
      for (const line of (await response.text()).split('\n')) {
        const match = /^(palaver_[a-z_]+)(?:\{[^}]*\})? (\S+)$/.exec(line);
        if (match) values.set(match[1]!, (values.get(match[1]!) ?? 0) + Number(match[2]));
      }
      return values;
    };
    const [onAMetrics, onBMetrics] = await Promise.all([scrape(a), scrape(b)]);
    expect(onAMetrics.get('palaver_stream_deltas_total')).toBeGreaterThan(0);
    expect(onBMetrics.get('palaver_stream_gap_fills_total')).toBeGreaterThan(0);
    expect(onBMetrics.get('palaver_stream_deltas_replayed_total')).toBeGreaterThan(0);
    // The fourth failed sign-in above was refused on B.
    expect(onBMetrics.get('palaver_rate_limit_refusals_total')).toBeGreaterThan(0);
    expect(onAMetrics.get('palaver_websocket_connections')).toBeGreaterThanOrEqual(1);
    expect(onAMetrics.has('palaver_active_streams')).toBe(true);
    for (const values of [onAMetrics, onBMetrics]) {
      expect(values.get('palaver_redis_ping_seconds')).toBeGreaterThan(0);
      expect(values.get('palaver_database_ping_seconds')).toBeGreaterThan(0);
    }
  });
});
