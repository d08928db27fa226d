import { setTimeout as sleep } from 'node:timers/promises';
import {
  MessageStreamDocument,
  RegisterDocument,
  SendMessageDocument,
  StopGenerationDocument,
} from './gql/graphql';
import { STRONG_PASSWORD, uniqueEmail } from './helpers/accounts';
import { TestDatabase } from './helpers/database';
import { FakeOpenAi } from './helpers/fake-openai';
import { GraphQLHttpClient } from './helpers/http-client';
import { TestRedis } from './helpers/redis-server';
import { startServerProcess, type ServerProcess } from './helpers/server-process';
import { TestSocket } from './helpers/ws-client';
import { connectDatabase } from '../src/db/connection';
import { Types } from 'mongoose';
import pino from 'pino';

const SECRET = 'a-cluster-secret-key-of-more-than-32-characters';

/**
 * Two built server processes (`node dist/main.js`) on one database and one redis-server, so
 * that an instance can die (SIGKILL), stall (SIGSTOP) or lose Redis the way a real one does.
 */
describe('cluster instances as processes', () => {
  let redis: TestRedis;
  let database: TestDatabase;
  let openai: FakeOpenAi;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    [redis, database, openai] = await Promise.all([
      TestRedis.start(),
      TestDatabase.start(),
      FakeOpenAi.start(),
    ]);
  });
  afterEach(() => {
    for (const server of servers.splice(0)) {
      server.child.kill('SIGCONT');
      server.child.kill('SIGKILL');
    }
  });
  afterAll(async () => {
    await openai?.stop();
    await database?.stop();
    await redis?.dispose();
  });

  async function instance(): Promise<ServerProcess> {
    const server = await startServerProcess({
      NODE_ENV: 'production',
      MONGODB_URL: database.url,
      DATABASE_NAME: database.name,
      SECRET_KEY: SECRET,
      REDIS_URL: redis.url,
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_MODELS: 'gpt-test',
      PORT: '0',
      LOG_LEVEL: 'info',
    });
    servers.push(server);
    return server;
  }

  const urlOf = (server: ServerProcess) => `http://127.0.0.1:${server.port}/graphql`;

  async function userOn(server: ServerProcess): Promise<string> {
    const data = await new GraphQLHttpClient(urlOf(server)).data(RegisterDocument, {
      input: {
        email: uniqueEmail('cluster'),
        password: STRONG_PASSWORD,
        confirmPassword: STRONG_PASSWORD,
        firstName: 'Clu',
        lastName: 'Ster',
      },
    });
    return data.register.accessToken;
  }

  async function savedReply(messageId: string) {
    const connection = await connectDatabase(
      database.url,
      database.name,
      pino({ level: 'silent' }),
    );
    try {
      return await connection.connection.db!.collection('messages').findOne({
        _id: new Types.ObjectId(messageId),
      });
    } finally {
      await connection.close();
    }
  }

  it('should end a reply INTERRUPTED on B within 10 s of A being killed, with exactly the text B delivered', async () => {
    const [a, b] = [await instance(), await instance()];
    const token = await userOn(a);
    openai.enqueue({ chunks: Array.from({ length: 500 }, (_, i) => `t${i} `), delayMs: 20 });
    const { sendMessage } = await new GraphQLHttpClient(urlOf(a)).data(
      SendMessageDocument,
      { input: { prompt: 'die mid-reply' } },
      { token },
    );
    const socket = TestSocket.withToken(urlOf(b).replace('http', 'ws'), token);
    try {
      const subscription = socket.subscribe(MessageStreamDocument, {
        messageId: sendMessage.assistantMessage.id,
      });
      await subscription.waitForEvents(10);
      a.child.kill('SIGKILL');
      const killedAt = Date.now();
      const events = (await subscription.untilDone(15_000)).map((e) => e.data!.messageStream);
      expect(Date.now() - killedAt).toBeLessThan(10_000);
      const done = events.at(-1)!;
      expect(done).toMatchObject({ done: true, message: { status: 'INTERRUPTED' } });
      const delivered = events.map((event) => event.delta).join('');
      expect(delivered.length).toBeGreaterThan(0);
      expect(done.message!.content).toBe(delivered);
      expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
    } finally {
      await socket.dispose();
    }
  });

  it('should keep the reasoning and text B delivered, as parts, when A is killed mid-reply', async () => {
    const [a, b] = [await instance(), await instance()];
    const token = await userOn(a);
    openai.enqueue({
      reasoning: Array.from({ length: 20 }, (_, i) => `r${i} `),
      chunks: Array.from({ length: 500 }, (_, i) => `t${i} `),
      delayMs: 20,
    });
    const { sendMessage } = await new GraphQLHttpClient(urlOf(a)).data(
      SendMessageDocument,
      { input: { prompt: 'think, then die mid-reply' } },
      { token },
    );
    const socket = TestSocket.withToken(urlOf(b).replace('http', 'ws'), token);
    try {
      const subscription = socket.subscribe(MessageStreamDocument, {
        messageId: sendMessage.assistantMessage.id,
      });
      // Past the reasoning, into the answer.
      await subscription.waitForEvents(30);
      a.child.kill('SIGKILL');
      const events = (await subscription.untilDone(15_000)).map((e) => e.data!.messageStream);
      const done = events.at(-1)!;
      expect(done).toMatchObject({ done: true, message: { status: 'INTERRUPTED' } });
      const reasoning = events.map((event) => event.reasoningDelta).join('');
      const text = events.map((event) => event.delta).join('');
      expect(reasoning).toBe(Array.from({ length: 20 }, (_, i) => `r${i} `).join(''));
      expect(text.length).toBeGreaterThan(0);
      expect(done.message).toMatchObject({ content: text, reasoning });
      expect(done.message!.parts.map((part) => [part.type, part.text])).toEqual([
        ['REASONING', reasoning],
        ['TEXT', text],
      ]);
      expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
    } finally {
      await socket.dispose();
    }
  });

  it('should end a reply STOPPED exactly once when it is stopped on B right after A was killed, before any sweep', async () => {
    const [a, b] = [await instance(), await instance()];
    const token = await userOn(a);
    openai.enqueue({ chunks: Array.from({ length: 500 }, (_, i) => `k${i} `), delayMs: 20 });
    const { sendMessage } = await new GraphQLHttpClient(urlOf(a)).data(
      SendMessageDocument,
      { input: { prompt: 'die, then be stopped' } },
      { token },
    );
    const messageId = sendMessage.assistantMessage.id;
    await sleep(500);
    a.child.kill('SIGKILL');
    const { stopGeneration } = await new GraphQLHttpClient(urlOf(b)).data(
      StopGenerationDocument,
      { messageId },
      { token },
    );
    expect(stopGeneration.status).toBe('STOPPED');
    expect(stopGeneration.content.length).toBeGreaterThan(0);
    await sleep(8_000); // past A's lease and many sweeps: nothing ends it a second time
    expect(await savedReply(messageId)).toMatchObject({
      status: 'STOPPED',
      content: stopGeneration.content,
    });
  });

  it('should take over the replies of an instance stalled for 8 s, and take no write from it once it wakes', async () => {
    const [a, b] = [await instance(), await instance()];
    const token = await userOn(b);
    openai.enqueue({ chunks: Array.from({ length: 800 }, (_, i) => `p${i} `), delayMs: 20 });
    const { sendMessage } = await new GraphQLHttpClient(urlOf(a)).data(
      SendMessageDocument,
      { input: { prompt: 'stall mid-reply' } },
      { token },
    );
    const messageId = sendMessage.assistantMessage.id;
    await sleep(500);
    a.child.kill('SIGSTOP');
    await sleep(8_000);
    const taken = await savedReply(messageId);
    expect(taken).toMatchObject({ status: 'INTERRUPTED' });
    a.child.kill('SIGCONT');
    await sleep(3_000); // its timers, partial saves and upstream chunks all run by now
    const later = await savedReply(messageId);
    expect(later).toMatchObject({ status: 'INTERRUPTED', content: taken!.content });
    const log = await redis.admin.xrange(`palaver:reply:${messageId}:log`, '-', '+');
    expect(log.at(-1)![1][0]).toBe('end');
  });

  it('should keep running and finish its reply when Redis stops mid-stream', async () => {
    const a = await instance();
    const token = await userOn(a);
    openai.enqueue({ chunks: Array.from({ length: 60 }, (_, i) => `r${i} `), delayMs: 30 });
    const http = new GraphQLHttpClient(urlOf(a));
    const { sendMessage } = await http.data(
      SendMessageDocument,
      { input: { prompt: 'redis goes away' } },
      { token },
    );
    const socket = TestSocket.withToken(urlOf(a).replace('http', 'ws'), token);
    try {
      const subscription = socket.subscribe(MessageStreamDocument, {
        messageId: sendMessage.assistantMessage.id,
      });
      await subscription.waitForEvents(3);
      await redis.stop();
      // A send publishes chat events and counts limits, all of which need Redis.
      const second = await http.request(
        SendMessageDocument,
        { input: { prompt: 'while redis is away', chatId: sendMessage.chat.id } },
        { token },
      );
      expect(second.errors).toBeUndefined();
      const events = (await subscription.untilDone(15_000)).map((e) => e.data!.messageStream);
      expect(events.at(-1)).toMatchObject({ done: true, message: { status: 'COMPLETE' } });
      await sleep(1_000);
      expect(a.child.exitCode).toBeNull();
      expect(a.lines.join('\n')).not.toMatch(/Unhandled|uncaught/i);
    } finally {
      await socket.dispose();
      await redis.start();
    }
  });
});
