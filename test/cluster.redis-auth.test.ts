import { registerUser } from './helpers/accounts';
import { sendMessage, streamToEnd } from './helpers/chat';
import { TestDatabase } from './helpers/database';
import { TestRedis } from './helpers/redis-server';
import { TestApp } from './helpers/test-app';
import { ConfigError, loadConfig } from '../src/config/config';

/**
 * A production Redis is private and asks for a password: REDIS_URL carries it
 * (redis://:password@host:port, or rediss:// for TLS), and a cluster works through it.
 */
describe('a cluster on a Redis that asks for a password', () => {
  it('should stream a reply written on A to a follower on B through an AUTH-protected Redis', async () => {
    const password = 'a-redis-password with spaces&symbols';
    const [redis, database] = await Promise.all([
      TestRedis.start({ password }),
      TestDatabase.start(),
    ]);
    const options = { database, env: { REDIS_URL: redis.url } };
    const a = await TestApp.start(options);
    const b = await TestApp.start(options);
    try {
      const user = await registerUser(a);
      a.openai.enqueue({ chunks: ['through ', 'auth'], delayMs: 20 });
      const payload = await sendMessage(a, user.auth.accessToken, { prompt: 'hello' });
      const socket = b.socket(user.auth.accessToken);
      const events = await streamToEnd(socket, payload.assistantMessage.id);
      expect(events.at(-1)).toMatchObject({ done: true, message: { content: 'through auth' } });
      await socket.dispose();
    } finally {
      await a.stop();
      await b.stop();
      await database.stop();
      await redis.dispose();
    }
  });

  it('should refuse a REDIS_URL of another scheme, naming the variable and not its value', () => {
    let refusal: unknown;
    try {
      loadConfig({ REDIS_URL: 'http://:hunter2@redis.internal:6379' });
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(ConfigError);
    expect((refusal as Error).message).toMatch(/REDIS_URL.*redis:\/\/ or rediss:\/\//);
    expect((refusal as Error).message).not.toContain('hunter2');
  });
});
