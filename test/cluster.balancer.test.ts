import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { MessageStreamDocument, RegisterDocument, SendMessageDocument } from './gql/graphql';
import { STRONG_PASSWORD, uniqueEmail } from './helpers/accounts';
import { TestDatabase } from './helpers/database';
import { GraphQLHttpClient } from './helpers/http-client';
import { TestSocket } from './helpers/ws-client';

const CLUSTER = path.resolve(__dirname, '..', 'dist', 'scripts', 'cluster.js');

/**
 * `npm run cluster` as a user runs it: Redis, two instances and HAProxy in front. A prompt
 * sent through the balancer streams through it over a WebSocket, and round-robin really
 * spreads the requests over both instances.
 */
describe('npm run cluster', () => {
  let database: TestDatabase;
  let cluster: ChildProcess;
  const lines: string[] = [];
  // A base port unlikely to be taken: the script uses it and the next two, and +379 for Redis.
  const port = 20_000 + Math.floor(Math.random() * 20_000);

  beforeAll(async () => {
    database = await TestDatabase.start();
    cluster = spawn(process.execPath, [CLUSTER], {
      env: {
        PATH: process.env.PATH ?? '',
        CLUSTER_PORT: String(port),
        MONGODB_URL: database.url,
        DATABASE_NAME: database.name,
        SECRET_KEY: 'a-cluster-secret-key-of-more-than-32-characters',
        LOG_LEVEL: 'info',
        NODE_ENV: 'production',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [cluster.stdout!, cluster.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => lines.push(line));
    }
    const deadline = Date.now() + 25_000;
    const ready = () =>
      lines.filter((line) => line.includes('Palaver is ready')).length === 2 &&
      lines.some((line) => line.startsWith('[cluster] http://'));
    while (!ready()) {
      if (Date.now() > deadline || cluster.exitCode !== null) {
        throw new Error(`the cluster did not start:\n${lines.join('\n')}`);
      }
      await sleep(100);
    }
    // HAProxy's first health checks (every second) mark both instances up.
    await sleep(2_500);
  });
  afterAll(async () => {
    if (cluster && cluster.exitCode === null) {
      const exited = new Promise((resolve) => cluster.once('exit', resolve));
      cluster.kill('SIGINT');
      await exited;
    }
    await database?.stop();
  });

  it('should answer through HAProxy, round-robin over both instances, and stream a reply over its WebSocket', async () => {
    const instances = new Set<string>();
    for (let i = 0; i < 4; i += 1) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const id = /palaver_instance_info\{instance="([^"]+)"\} 1/.exec(text)?.[1];
      if (id) instances.add(id);
    }
    expect(instances.size).toBe(2);

    const url = `http://127.0.0.1:${port}/graphql`;
    const http = new GraphQLHttpClient(url);
    const { register } = await http.data(RegisterDocument, {
      input: {
        email: uniqueEmail('balancer'),
        password: STRONG_PASSWORD,
        confirmPassword: STRONG_PASSWORD,
        firstName: 'Bal',
        lastName: 'Ancer',
      },
    });
    const socket = TestSocket.withToken(url.replace('http', 'ws'), register.accessToken);
    try {
      for (let i = 0; i < 2; i += 1) {
        const { sendMessage } = await http.data(
          SendMessageDocument,
          { input: { prompt: `through the balancer ${i}` } },
          { token: register.accessToken },
        );
        const subscription = socket.subscribe(MessageStreamDocument, {
          messageId: sendMessage.assistantMessage.id,
        });
        const events = (await subscription.untilDone(20_000)).map((e) => e.data!.messageStream);
        expect(events.map((event) => event.seq)).toEqual(events.map((_, j) => j + 1));
        const done = events.at(-1)!;
        expect(done).toMatchObject({ done: true, message: { status: 'COMPLETE' } });
        expect(events.map((event) => event.delta).join('')).toBe(done.message!.content);
      }
    } finally {
      await socket.dispose();
    }
  });
});
