import { ChatDocument, StopGenerationDocument } from './gql/graphql';
import { registerUser, type TestUser } from './helpers/accounts';
import { sendMessage, streamToEnd } from './helpers/chat';
import { TestApp } from './helpers/test-app';
import type { TestSocket } from './helpers/ws-client';

describe('sending a prompt and streaming the reply', () => {
  let app: TestApp;
  let user: TestUser;
  let socket: TestSocket;
  beforeAll(async () => {
    app = await TestApp.start();
    user = await registerUser(app);
    socket = app.socket(user.auth.accessToken);
  });
  afterAll(async () => {
    await socket.dispose();
    await app.stop();
  });

  it('should save the prompt and a STREAMING reply, stream every delta, then a done event with the COMPLETE message', async () => {
    app.openai.enqueue({
      chunks: ['The', ' sky', ' is', ' blue', '.'],
      delayMs: 5,
      usage: { prompt_tokens: 9, completion_tokens: 5 },
    });
    const payload = await sendMessage(app, user.auth.accessToken, {
      prompt: 'Why is the sky blue?',
    });
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
    const last = events[events.length - 1]!;
    expect(last.done).toBe(true);
    expect(events.slice(0, -1).every((event) => !event.done)).toBe(true);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
    const text = events.map((event) => event.delta).join('');
    expect(text).toBe('The sky is blue.');
    expect(last.message).toMatchObject({
      id: payload.assistantMessage.id,
      status: 'COMPLETE',
      content: 'The sky is blue.',
      usage: { promptTokens: 9, completionTokens: 5, totalTokens: 14 },
      config: { llm: 'OPEN_AI', chatModel: 'gpt-test' },
    });
  });

  it('should stop a long reply, keep the text so far as STOPPED, and close the upstream request', async () => {
    app.openai.enqueue({ chunks: Array.from({ length: 200 }, (_, i) => `w${i} `), delayMs: 20 });
    const payload = await sendMessage(app, user.auth.accessToken, {
      prompt: 'Talk for a long time.',
    });
    const subscription = socket.subscribe((await import('./gql/graphql')).MessageStreamDocument, {
      messageId: payload.assistantMessage.id,
    });
    await subscription.waitForEvents(3);
    const stoppedAt = Date.now();
    const { stopGeneration } = await app
      .http()
      .data(
        StopGenerationDocument,
        { messageId: payload.assistantMessage.id },
        { token: user.auth.accessToken },
      );
    expect(stopGeneration.status).toBe('STOPPED');
    expect(stopGeneration.content.length).toBeGreaterThan(0);
    expect(stopGeneration.content.startsWith('w0 w1 ')).toBe(true);

    const request = app.openai.streamingRequests().at(-1)!;
    const deadline = Date.now() + 1_000;
    while (request.closedAt === undefined && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(request.closedEarly).toBe(true);
    expect(request.closedAt! - stoppedAt).toBeLessThan(1_000);

    const events = await subscription.untilDone();
    const done = events.at(-1)!.data!.messageStream;
    expect(done.done).toBe(true);
    expect(done.message!.status).toBe('STOPPED');
    const streamed = events.map((e) => e.data!.messageStream.delta).join('');
    expect(streamed).toBe(stopGeneration.content);
    const { chat } = await app
      .http()
      .data(ChatDocument, { id: payload.chat.id }, { token: user.auth.accessToken });
    expect(chat.messages.at(-1)).toMatchObject({
      status: 'STOPPED',
      content: stopGeneration.content,
    });
  });
});
