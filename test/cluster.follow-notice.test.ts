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
});
