import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecutionResult } from 'graphql';
import WebSocket from 'ws';
import { registerUser } from './helpers/accounts';
import { sendMessage } from './helpers/chat';
import { useTestApp } from './helpers/test-app';
import { Channel } from '../src/util/channel';
import { DirectSubscription } from '../src/server/ws/direct-subscriptions';

/**
 * A streamed reply's events are shaped and written to the socket in the turn they arrive
 * (server/ws/direct-subscriptions.ts), outside graphql-ws's own loop. These tests hold that path to
 * what graphql-ws itself would have sent: the same frames, in order, `complete` last, nothing
 * after the client's `complete`, and `error` when an event cannot be shaped.
 */
describe('a subscription whose events are sent as they arrive', () => {
  const shapeOf = (event: unknown): ExecutionResult => ({ data: { value: event } });

  it('should send events in order, holding later ones behind an event whose shape answers later', async () => {
    const source = new Channel<number>();
    const sent: unknown[] = [];
    const subscription = new DirectSubscription(
      source,
      (event) =>
        event === 2
          ? new Promise<ExecutionResult>((resolve) => setTimeout(() => resolve(shapeOf(2)), 20))
          : shapeOf(event),
      (result) => sent.push((result.data as { value: unknown }).value),
    );
    source.push(1); // before graphql-ws iterates: waits in the source
    const ended = subscription.next();
    source.push(2);
    source.push(3);
    source.end();
    expect(sent).toEqual([1]);
    await expect(ended).resolves.toEqual({ value: undefined, done: true });
    expect(sent).toEqual([1, 2, 3]);
  });

  it('should reject the iteration (graphql-ws then sends `error`) when an event cannot be shaped, and send nothing after it', async () => {
    const source = new Channel<number>();
    const sent: unknown[] = [];
    const subscription = new DirectSubscription(
      source,
      (event) => {
        if (event === 2) throw new Error('cannot shape');
        return shapeOf(event);
      },
      (result) => sent.push((result.data as { value: unknown }).value),
    );
    const ended = subscription.next();
    source.push(1);
    source.push(2);
    source.push(3);
    await expect(ended).rejects.toThrow('cannot shape');
    expect(sent).toEqual([1]);
  });

  it('should stop sending at once when the client completes it, and close its source', async () => {
    let closed = false;
    const source = new Channel<number>(() => (closed = true));
    const sent: unknown[] = [];
    const subscription = new DirectSubscription(source, shapeOf, (result) =>
      sent.push((result.data as { value: unknown }).value),
    );
    const ended = subscription.next();
    source.push(1);
    await subscription.return();
    source.push(2);
    await expect(ended).resolves.toEqual({ value: undefined, done: true });
    expect(sent).toEqual([1]);
    expect(closed).toBe(true);
  });
});

describe('a streamed reply on the wire', () => {
  const app = useTestApp({ chat: { coalesceMs: 0 } });

  /** A raw graphql-transport-ws client that keeps every frame as the server wrote it. */
  async function rawSocket(token: string) {
    const frames: string[] = [];
    const socket = new WebSocket(app.wsUrl, 'graphql-transport-ws');
    socket.on('message', (raw) => frames.push(String(raw)));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(
      JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }),
    );
    while (!frames.some((frame) => frame.includes('connection_ack'))) await sleep(5);
    return { socket, frames };
  }

  it('should write each delta, then the done event with fields read later, then complete, each frame as graphql-ws writes it', async () => {
    const user = await registerUser(app);
    const chunks = ['one ', 'two ', 'three ', 'four'];
    app.openai.enqueue({ chunks, delayMs: 20 });
    const payload = await sendMessage(app, user.auth.accessToken, { prompt: 'count' });
    const { socket, frames } = await rawSocket(user.auth.accessToken);
    socket.send(
      JSON.stringify({
        id: 'reply',
        type: 'subscribe',
        payload: {
          query:
            'subscription ($id: ID!) { messageStream(messageId: $id) { seq delta done message { status content siblingIds siblingIndex } } }',
          variables: { id: payload.assistantMessage.id },
        },
      }),
    );
    const deadline = Date.now() + 10_000;
    while (!frames.some((frame) => frame.includes('"type":"complete"'))) {
      if (Date.now() > deadline) throw new Error(`no complete: ${frames.join('\n')}`);
      await sleep(10);
    }
    socket.close();
    const messages = frames
      .filter((frame) => !frame.includes('connection_ack'))
      .map((frame) => JSON.parse(frame) as Record<string, any>);
    // graphql-ws's own order of keys: id, type, payload.
    expect(messages.map((message) => Object.keys(message))).toEqual([
      ...chunks.map(() => ['id', 'type', 'payload']),
      ['id', 'type', 'payload'],
      ['id', 'type'],
    ]);
    expect(messages.map((message) => message.type)).toEqual([
      ...chunks.map(() => 'next'),
      'next',
      'complete',
    ]);
    const events = messages.slice(0, -1).map((message) => message.payload.data.messageStream);
    expect(events.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(events.slice(0, -1).map((event) => event.delta)).toEqual(chunks);
    expect(events.at(-1)).toEqual({
      seq: 5,
      delta: '',
      done: true,
      message: {
        status: 'COMPLETE',
        content: chunks.join(''),
        siblingIds: [payload.assistantMessage.id],
        siblingIndex: 0,
      },
    });
  });

  it('should write nothing more for a subscription after the client completes it mid-reply', async () => {
    const user = await registerUser(app);
    app.openai.enqueue({ chunks: Array.from({ length: 60 }, (_, i) => `t${i} `), delayMs: 10 });
    const payload = await sendMessage(app, user.auth.accessToken, { prompt: 'long' });
    const { socket, frames } = await rawSocket(user.auth.accessToken);
    socket.send(
      JSON.stringify({
        id: 'a',
        type: 'subscribe',
        payload: {
          query: `subscription { messageStream(messageId: "${payload.assistantMessage.id}") { seq delta } }`,
        },
      }),
    );
    while (frames.filter((frame) => frame.includes('"next"')).length < 5) await sleep(5);
    socket.send(JSON.stringify({ id: 'a', type: 'complete' }));
    // What the server wrote before it read the `complete` may still be on its way.
    await sleep(50);
    const atComplete = frames.length;
    await sleep(300); // ~30 more chunks reach the server meanwhile
    socket.close();
    expect(frames.length).toBe(atComplete);
    expect(frames.some((frame) => frame.includes('"type":"complete"'))).toBe(false);
  });
});
