import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse } from 'graphql';
import { MessageStreamDocument, type MessageStreamSubscription } from './gql/graphql';
import { registerUser, type TestUser } from './helpers/accounts';
import { sendMessage } from './helpers/chat';
import { useClusterPair } from './helpers/cluster-pair';
import type { Subscription } from './helpers/ws-client';

type Stream = Subscription<MessageStreamSubscription>;
type Events = Stream['events'];

/**
 * A reply that nobody follows on another instance is written to Redis at most every window; a
 * follower that arrives elsewhere tells the writer, which then writes every turn. Here the
 * window is 5 s, longer than the reply, so a follower on B that waited for it would get
 * nothing before the reply had ended on A.
 */
describe('a follower on another instance', () => {
  const cluster = useClusterPair({ chat: { replyLogWindowMs: 5_000 } });
  let user: TestUser;

  beforeAll(async () => {
    user = await registerUser(cluster.a);
  });

  /**
   * Sends a prompt on A whose reply streams `count` words 40 ms apart, and follows it on A and
   * on B. `run` gets both subscriptions; the sockets are closed after it.
   */
  async function followOnBoth(
    count: number,
    run: (here: Stream, elsewhere: Stream) => Promise<void>,
  ): Promise<string[]> {
    const { a, b } = cluster;
    const words = Array.from({ length: count }, (_, i) => `w${i} `);
    a.openai.enqueue({ chunks: words, delayMs: 40 });
    const payload = await sendMessage(a, user.auth.accessToken, { prompt: 'follow elsewhere' });
    const messageId = payload.assistantMessage.id;
    const [onA, onB] = [a.socket(user.auth.accessToken), b.socket(user.auth.accessToken)];
    try {
      await run(
        onA.subscribe(MessageStreamDocument, { messageId }),
        onB.subscribe(MessageStreamDocument, { messageId }),
      );
    } finally {
      await Promise.all([onA.dispose(), onB.dispose()]);
    }
    return words;
  }

  it('should get the deltas as they are written, not once the writer next writes its log', async () => {
    let onAEvents: Events = [];
    let onBEvents: Events = [];
    let firstOnB = 0;
    let doneOnA = 0;
    const words = await followOnBoth(40, async (here, elsewhere) => {
      [onAEvents, onBEvents] = await Promise.all([
        here.untilDone(20_000).then((events) => ((doneOnA = Date.now()), events)),
        elsewhere.waitForEvents(1, 20_000).then(async () => {
          firstOnB = Date.now();
          return elsewhere.untilDone(20_000);
        }),
      ]);
    });
    // B's first delta came while A was still streaming (a waiting writer sends it after 5 s).
    expect(onBEvents[0]!.data!.messageStream.done).toBe(false);
    expect(firstOnB).toBeLessThan(doneOnA);
    const text = (events: Events) =>
      events.map((event) => event.data!.messageStream.delta).join('');
    expect(text(onBEvents)).toBe(words.join(''));
    expect(text(onAEvents)).toBe(words.join(''));
    expect(onBEvents.map((event) => event.data!.messageStream.seq)).toEqual(
      onBEvents.map((_, i) => i + 1),
    );
  });

  it('should be told again after the pub/sub connections were killed, and get deltas again before the reply ends', async () => {
    const { redis } = cluster;
    const arrivals: number[] = [];
    let killedAt = 0;
    let doneOnA = 0;
    let onBEvents: Events = [];
    const words = await followOnBoth(75, async (here, elsewhere) => {
      await elsewhere.waitForEvents(5, 20_000);
      // Publishes that find nobody while B reconnects send A back to its 5 s window.
      await redis.admin.connect().catch(() => {});
      await redis.admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      killedAt = Date.now();
      const seen = elsewhere.events.length;
      const poll = setInterval(() => {
        while (arrivals.length < elsewhere.events.length - seen) arrivals.push(Date.now());
      }, 5);
      [, onBEvents] = await Promise.all([
        here.untilDone(20_000).then(() => (doneOnA = Date.now())),
        elsewhere.untilDone(20_000),
      ]).finally(() => clearInterval(poll));
    });
    // A reply of ~3 s: B hears of it again within the silence check, not after the window,
    // so deltas keep coming while A streams (left in its window, A would write only what
    // was pending when B's subscriber came back: a handful at most).
    const beforeEnd = arrivals.filter((at) => at >= killedAt && at < doneOnA);
    expect(beforeEnd.length).toBeGreaterThanOrEqual(10);
    const stream = onBEvents.map((event) => event.data!.messageStream);
    expect(stream.map((event) => event.seq)).toEqual(stream.map((_, i) => i + 1));
    expect(stream.map((event) => event.delta).join('')).toBe(words.join(''));
  });

  it('should stream to B a document of another shape (alias, fragment, inline id) just as it does the stock one', async () => {
    const { a, b } = cluster;
    const words = Array.from({ length: 20 }, (_, i) => `s${i} `);
    a.openai.enqueue({ chunks: words, delayMs: 20 });
    const payload = await sendMessage(a, user.auth.accessToken, { prompt: 'another shape' });
    const messageId = payload.assistantMessage.id;
    const document = parse(`
      subscription {
        piece: messageStream(messageId: "${messageId}") { ...Piece }
      }
      fragment Piece on MessageStreamEvent { n: seq text: delta finished: done message { status content } }
    `) as TypedDocumentNode<{
      piece: {
        n: number;
        text: string;
        finished: boolean;
        message: { status: string; content: string } | null;
      };
    }>;
    const onB = b.socket(user.auth.accessToken);
    try {
      const events = (await onB.subscribe(document).untilDone(20_000)).map((e) => e.data!.piece);
      expect(events.map((event) => event.n)).toEqual(events.map((_, i) => i + 1));
      expect(events.at(-1)).toMatchObject({ finished: true, message: { status: 'COMPLETE' } });
      const text = events.filter((event) => !event.finished).map((event) => event.text);
      expect(text.join('')).toBe(words.join(''));
      expect(events.at(-1)!.message!.content).toBe(words.join(''));
    } finally {
      await onB.dispose();
    }
  });
});
