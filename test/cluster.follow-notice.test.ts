import { MessageStreamDocument } from './gql/graphql';
import { registerUser, type TestUser } from './helpers/accounts';
import { sendMessage } from './helpers/chat';
import { TestDatabase } from './helpers/database';
import { TestRedis } from './helpers/redis-server';
import { TestApp } from './helpers/test-app';

/**
 * A reply that nobody follows on another instance is written to Redis at most every window; a
 * follower that arrives elsewhere tells the writer, which then writes every turn. Here the
 * window is 5 s, longer than the reply, so a follower on B that waited for it would get
 * nothing before the reply had ended on A.
 */
describe('a follower on another instance', () => {
  let redis: TestRedis;
  let database: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    [redis, database] = await Promise.all([TestRedis.start(), TestDatabase.start()]);
    const options = { database, env: { REDIS_URL: redis.url }, chat: { replyLogWindowMs: 5_000 } };
    a = await TestApp.start(options);
    b = await TestApp.start(options);
    user = await registerUser(a);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await database?.stop();
    await redis?.dispose();
  });

  it('should get the deltas as they are written, not once the writer next writes its log', async () => {
    const words = Array.from({ length: 40 }, (_, i) => `n${i} `);
    a.openai.enqueue({ chunks: words, delayMs: 40 });
    const payload = await sendMessage(a, user.auth.accessToken, { prompt: 'follow me elsewhere' });
    const messageId = payload.assistantMessage.id;
    const [onA, onB] = [a.socket(user.auth.accessToken), b.socket(user.auth.accessToken)];
    try {
      const here = onA.subscribe(MessageStreamDocument, { messageId });
      const elsewhere = onB.subscribe(MessageStreamDocument, { messageId });
      let firstOnB = 0;
      let doneOnA = 0;
      const [onAEvents, onBEvents] = await Promise.all([
        here.untilDone(20_000).then((events) => ((doneOnA = Date.now()), events)),
        elsewhere.waitForEvents(1, 20_000).then(async () => {
          firstOnB = Date.now();
          return elsewhere.untilDone(20_000);
        }),
      ]);
      // B's first delta came while A was still streaming (a waiting writer sends it after 5 s).
      expect(onBEvents[0]!.data!.messageStream.done).toBe(false);
      expect(firstOnB).toBeLessThan(doneOnA);
      const text = (events: typeof onAEvents) =>
        events.map((event) => event.data!.messageStream.delta).join('');
      expect(text(onBEvents)).toBe(words.join(''));
      expect(text(onAEvents)).toBe(words.join(''));
      expect(onBEvents.map((event) => event.data!.messageStream.seq)).toEqual(
        onBEvents.map((_, i) => i + 1),
      );
    } finally {
      await Promise.all([onA.dispose(), onB.dispose()]);
    }
  });

  it('should be told again after the pub/sub connections were killed, and get deltas again before the reply ends', async () => {
    const words = Array.from({ length: 75 }, (_, i) => `k${i} `);
    a.openai.enqueue({ chunks: words, delayMs: 40 });
    const payload = await sendMessage(a, user.auth.accessToken, { prompt: 'kill and follow' });
    const messageId = payload.assistantMessage.id;
    const [onA, onB] = [a.socket(user.auth.accessToken), b.socket(user.auth.accessToken)];
    try {
      const here = onA.subscribe(MessageStreamDocument, { messageId });
      const elsewhere = onB.subscribe(MessageStreamDocument, { messageId });
      await elsewhere.waitForEvents(5, 20_000);
      // Publishes that find nobody while B reconnects send A back to its 5 s window.
      await redis.admin.connect().catch(() => {});
      await redis.admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      const killedAt = Date.now();
      const arrivals: number[] = [];
      const seen = elsewhere.events.length;
      const poll = setInterval(() => {
        while (arrivals.length < elsewhere.events.length - seen) arrivals.push(Date.now());
      }, 5);
      let doneOnA = 0;
      const [, onBEvents] = await Promise.all([
        here.untilDone(20_000).then(() => (doneOnA = Date.now())),
        elsewhere.untilDone(20_000),
      ]).finally(() => clearInterval(poll));
      // A reply of ~3 s: B hears of it again within the silence check, not after the window,
      // so deltas keep coming while A streams (left in its window, A would write only what
      // was pending when B's subscriber came back: a handful at most).
      const beforeEnd = arrivals.filter((at) => at >= killedAt && at < doneOnA);
      expect(beforeEnd.length).toBeGreaterThanOrEqual(10);
      const stream = onBEvents.map((event) => event.data!.messageStream);
      expect(stream.map((event) => event.seq)).toEqual(stream.map((_, i) => i + 1));
      expect(stream.map((event) => event.delta).join('')).toBe(words.join(''));
    } finally {
      await Promise.all([onA.dispose(), onB.dispose()]);
    }
  });
});
