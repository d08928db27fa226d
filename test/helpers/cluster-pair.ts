import { TestDatabase } from './database';
import { TestRedis } from './redis-server';
import { TestApp, type TestAppOptions } from './test-app';

/** Two instances, A and B, of one test file, on one database and one real redis-server. */
export interface ClusterPair {
  readonly a: TestApp;
  readonly b: TestApp;
  readonly redis: TestRedis;
}

/**
 * Starts the pair before the file's tests and stops it after them (as useTestApp does for one
 * app). `options` are both instances' (REDIS_URL and the shared database are added).
 */
export function useClusterPair(options: Omit<TestAppOptions, 'database'> = {}): ClusterPair {
  let started: { a: TestApp; b: TestApp; redis: TestRedis; database: TestDatabase } | undefined;
  beforeAll(async () => {
    const [redis, database] = await Promise.all([TestRedis.start(), TestDatabase.start()]);
    const both = { ...options, database, env: { ...options.env, REDIS_URL: redis.url } };
    const a = await TestApp.start(both);
    const b = await TestApp.start(both);
    started = { a, b, redis, database };
  });
  afterAll(async () => {
    await started?.a.stop();
    await started?.b.stop();
    await started?.database.stop();
    await started?.redis.dispose();
  });
  const get = () => {
    if (!started) throw new Error('useClusterPair: used before its beforeAll ran');
    return started;
  };
  return {
    get a() {
      return get().a;
    },
    get b() {
      return get().b;
    },
    get redis() {
      return get().redis;
    },
  };
}
