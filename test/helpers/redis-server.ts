import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

/** A port free at this moment on loopback. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A real redis-server (Debian's, installed by .ci/run) of a test file's own on loopback, with
 * nothing persisted. `stop()` and `start()` again on the same port let a test take Redis away
 * and bring it back; `admin` runs commands such as CLIENT KILL or FLUSHALL.
 */
export class TestRedis {
  private child: ChildProcess | null = null;
  readonly admin: Redis;

  private constructor(
    readonly port: number,
    /** Set: the server asks every client for it (AUTH), as a production Redis should. */
    private readonly password?: string,
  ) {
    this.admin = new Redis({
      port,
      host: '127.0.0.1',
      password,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    this.admin.on('error', () => {});
  }

  static async start(options: { password?: string } = {}): Promise<TestRedis> {
    const redis = new TestRedis(await freePort(), options.password);
    await redis.start();
    return redis;
  }

  get url(): string {
    const auth = this.password ? `:${encodeURIComponent(this.password)}@` : '';
    return `redis://${auth}127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        ...(this.password ? ['--requirepass', this.password] : []),
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis({
        port: this.port,
        host: '127.0.0.1',
        password: this.password,
        lazyConnect: true,
        retryStrategy: () => null,
      });
      probe.on('error', () => {});
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        probe.disconnect();
        if (Date.now() > deadline) throw new Error('redis-server did not start');
        await sleep(50);
      }
    }
  }

  /** Stops the server (SIGKILL: nothing is saved anyway) and waits until it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async dispose(): Promise<void> {
    this.admin.disconnect();
    await this.stop();
  }
}
