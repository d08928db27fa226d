import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChatEventsDocument,
  SendMessageDocument,
  StopGenerationDocument,
  type SendMessageInput,
} from './gql/graphql';
import { registerUser } from './helpers/accounts';
import { sendMessage, streamToEnd } from './helpers/chat';
import { errorCode } from './helpers/http-client';
import { TestApp, useTestApp } from './helpers/test-app';
import { DEFAULT_RATE_LIMITS } from '../src/rate-limit/rate-limits';

describe('sendMessage limits and retries', () => {
  const app = useTestApp({
    rateLimits: { messagesPerUserPerMinute: DEFAULT_RATE_LIMITS.messagesPerUserPerMinute },
  });

  it('should return the first payload to a retry with the same clientMessageId, and generate once', async () => {
    const user = await registerUser(app);
    app.openai.enqueue({ chunks: ['only once'] });
    const before = app.openai.streamingRequests().length;
    const input: SendMessageInput = { prompt: 'idempotent', clientMessageId: 'client-msg-1' };
    const first = await sendMessage(app, user.auth.accessToken, input);
    const retry = await sendMessage(app, user.auth.accessToken, input);
    expect(retry.chat.id).toBe(first.chat.id);
    expect(retry.userMessage.id).toBe(first.userMessage.id);
    expect(retry.assistantMessage.id).toBe(first.assistantMessage.id);
    const socket = app.socket(user.auth.accessToken);
    await streamToEnd(socket, first.assistantMessage.id);
    await socket.dispose();
    expect(app.openai.streamingRequests().length - before).toBe(1);
    expect(await app.app.models.Chat.countDocuments({ userId: user.auth.user.id })).toBe(1);
    // The same id from another user is theirs alone.
    const other = await registerUser(app);
    const theirs = await sendMessage(app, other.auth.accessToken, input);
    expect(theirs.chat.id).not.toBe(first.chat.id);
  });

  it('should give racing retries one payload and one reply', async () => {
    const user = await registerUser(app);
    app.openai.defaultReply = { chunks: ['raced'] };
    const before = app.openai.streamingRequests().length;
    const input: SendMessageInput = { prompt: 'race', clientMessageId: 'race-1' };
    const results = await Promise.all(
      Array.from({ length: 8 }, () => sendMessage(app, user.auth.accessToken, input)),
    );
    expect(new Set(results.map((r) => r.assistantMessage.id)).size).toBe(1);
    expect(new Set(results.map((r) => r.chat.id)).size).toBe(1);
    await sleep(300);
    expect(app.openai.streamingRequests().length - before).toBe(1);
    expect(await app.app.models.Chat.countDocuments({ userId: user.auth.user.id })).toBe(1);
    expect(await app.app.models.Message.countDocuments({ userId: user.auth.user.id })).toBe(2);
  });

  it('should refuse a prompt over 32,000 characters with BAD_USER_INPUT, saving nothing', async () => {
    const user = await registerUser(app);
    const result = await app
      .http()
      .request(
        SendMessageDocument,
        { input: { prompt: 'x'.repeat(32_001) } },
        { token: user.auth.accessToken },
      );
    expect(errorCode(result)).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0]?.extensions?.fields).toHaveProperty('prompt');
    expect(await app.app.models.Message.countDocuments({ userId: user.auth.user.id })).toBe(0);
    const empty = await app
      .http()
      .request(SendMessageDocument, { input: { prompt: '' } }, { token: user.auth.accessToken });
    expect(errorCode(empty)).toBe('BAD_USER_INPUT');
  });

  it('should allow at most 3 replies streaming at once per user', async () => {
    const user = await registerUser(app);
    app.openai.defaultReply = { chunks: Array.from({ length: 100 }, () => 'z '), delayMs: 20 };
    const running = [];
    for (let i = 0; i < 3; i += 1)
      running.push(await sendMessage(app, user.auth.accessToken, { prompt: `p${i}` }));
    const fourth = await app
      .http()
      .request(
        SendMessageDocument,
        { input: { prompt: 'one too many' } },
        { token: user.auth.accessToken },
      );
    expect(errorCode(fourth)).toBe('RATE_LIMITED');
    expect(fourth.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
    await app
      .http()
      .data(
        StopGenerationDocument,
        { messageId: running[0]!.assistantMessage.id },
        { token: user.auth.accessToken },
      );
    const fifth = await sendMessage(app, user.auth.accessToken, { prompt: 'room again' });
    expect(fifth.assistantMessage.status).toBe('STREAMING');
    for (const payload of [...running.slice(1), fifth]) {
      await app
        .http()
        .data(
          StopGenerationDocument,
          { messageId: payload.assistantMessage.id },
          { token: user.auth.accessToken },
        );
    }
    app.openai.defaultReply = { chunks: ['ok'] };
  });

  it('should limit prompts per user per minute with RATE_LIMITED', async () => {
    const user = await registerUser(app);
    app.openai.defaultReply = { chunks: ['ok'] };
    const { points } = DEFAULT_RATE_LIMITS.messagesPerUserPerMinute;
    let limited = null;
    for (let i = 0; i <= points; i += 1) {
      const result = await app
        .http()
        .request(
          SendMessageDocument,
          { input: { prompt: `n${i}` } },
          { token: user.auth.accessToken },
        );
      if (result.errors) {
        limited = { i, result };
        break;
      }
      await sleep(30); // let each short reply finish, so only the per-minute limit can refuse
    }
    expect(limited?.i).toBe(points);
    expect(errorCode(limited!.result)).toBe('RATE_LIMITED');
  });
});

describe('email verification for chat', () => {
  it('should answer EMAIL_NOT_VERIFIED until the address is verified, when the server requires it', async () => {
    const app = await TestApp.start({ env: { REQUIRE_EMAIL_VERIFICATION: 'true' } });
    try {
      const user = await registerUser(app);
      const result = await app
        .http()
        .request(
          SendMessageDocument,
          { input: { prompt: 'hi' } },
          { token: user.auth.accessToken },
        );
      expect(errorCode(result)).toBe('EMAIL_NOT_VERIFIED');
      await app.app.models.User.updateOne({ email: user.email }, { $set: { emailVerified: true } });
      const payload = await sendMessage(app, user.auth.accessToken, { prompt: 'hi' });
      expect(payload.assistantMessage.status).toBe('STREAMING');
    } finally {
      await app.stop();
    }
  });
});

describe('with no API key', () => {
  it('should chat with the built-in ECHO model by default', async () => {
    const app = await TestApp.start({ env: { OPENAI_API_KEY: '' } });
    try {
      const user = await registerUser(app);
      const socket = app.socket(user.auth.accessToken);
      const events = socket.subscribe(ChatEventsDocument);
      await sleep(100);
      const payload = await sendMessage(app, user.auth.accessToken, {
        prompt: 'Hello there, echo',
      });
      expect(payload.chat.config).toEqual({ llm: 'ECHO', chatModel: 'echo-1' });
      const stream = await streamToEnd(socket, payload.assistantMessage.id);
      expect(stream.filter((e) => !e.done).length).toBeGreaterThan(1);
      expect(stream.at(-1)!.message).toMatchObject({
        status: 'COMPLETE',
        content: 'You said: Hello there, echo',
      });
      await events.waitForEvents(4);
      expect(events.events.map((e) => e.data!.chatEvents.type)).toEqual([
        'CREATED',
        'MESSAGE_ADDED',
        'MESSAGE_ADDED',
        'MESSAGE_UPDATED',
      ]);
      await socket.dispose();
    } finally {
      await app.stop();
    }
  });
});
