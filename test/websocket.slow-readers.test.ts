import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { registerUser } from './helpers/accounts';
import { sendMessage, streamToEnd } from './helpers/chat';
import { useTestApp } from './helpers/test-app';

/**
 * A client that stops reading must not grow the server's memory: its socket is closed with
 * 1013 once it holds more than a few MB unread, and the client resumes with `after`.
 */
describe('a WebSocket client that stops reading', () => {
  const app = useTestApp();

  it('should be closed with 1013 once its unread frames pass the bound, while a reading client is not', async () => {
    const user = await registerUser(app);
    const big = Array.from(
      { length: 128 },
      (_, i) => `${String(i).padStart(4, '0')}${'x'.repeat(1020)}`,
    );
    app.openai.enqueue({ chunks: big });
    const sent = await sendMessage(app, user.auth.accessToken, { prompt: 'a long one' });
    const reader = app.socket(user.auth.accessToken);
    const events = await streamToEnd(reader, sent.assistantMessage.id);
    expect(events.at(-1)!.message!.content.length).toBe(128 * 1024);

    const raw = new WebSocket(app.wsUrl, 'graphql-transport-ws');
    await new Promise((resolve) => raw.once('open', resolve));
    raw.send(
      JSON.stringify({
        type: 'connection_init',
        payload: { authorization: `Bearer ${user.auth.accessToken}` },
      }),
    );
    await new Promise((resolve) => raw.once('message', resolve));
    const closed = new Promise<number>((resolve) => raw.once('close', (code) => resolve(code)));
    // The tab freezes: nothing is read from here on, while 100 replays (12.8 MB) are asked for.
    (raw as unknown as { _socket: { pause(): void } })._socket.pause();
    const query = `subscription S($id: ID!) { messageStream(messageId: $id) { delta done message { content } } }`;
    for (let i = 0; i < 100; i += 1) {
      raw.send(
        JSON.stringify({
          id: String(i),
          type: 'subscribe',
          payload: { query, variables: { id: sent.assistantMessage.id } },
        }),
      );
    }
    const before = app.app.websocket.connectionCount;
    expect(before).toBe(2);
    const deadline = Date.now() + 5_000;
    while (app.app.websocket.connectionCount > 1 && Date.now() < deadline) await sleep(50);
    // The server let go of the frozen socket (and of what it held); the reading one stays.
    expect(app.app.websocket.connectionCount).toBe(1);
    (raw as unknown as { _socket: { resume(): void } })._socket.resume();
    expect([1013, 1006]).toContain(await closed);
    const again = await streamToEnd(reader, sent.assistantMessage.id);
    expect(again.at(-1)!.message!.content).toBe(events.at(-1)!.message!.content);
    await reader.dispose();
  }, 20_000);
});
