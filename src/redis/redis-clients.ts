import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../log/logger';

/**
 * The Redis connections of one instance, one per kind of traffic so that none waits behind
 * another: commands (reply logs, leases, slots), subscriptions (a subscribed connection can do
 * nothing else), and the rate limiters' (which must fail fast, see rate-limits.ts).
 *
 * Redis out of reach must never end the process: every connection has an error listener
 * (ioredis would otherwise print each reconnect failure as unhandled), and commands fail after
 * one reconnection attempt instead of queueing without bound while Redis is away.
 */
export interface RedisClients {
  /** This process's name in the cluster: leases, reply ownership and stop routing use it. */
  readonly instanceId: string;
  readonly commands: Redis;
  readonly subscriber: Redis;
  /** For XREAD BLOCK, which holds its connection while it waits. */
  readonly blocking: Redis;
  /** No offline queue: a limiter asks and, when Redis is away, falls back to memory at once. */
  readonly limiter: Redis;
  close(): void;
}

/**
 * Reconnects after 100 ms doubling to 500 ms, forever: a Redis restart is waited out, not
 * fatal. The cap is low because what waits on a reconnect matters (a revocation for other
 * instances, followers elsewhere): a higher cap made ended sessions arrive late just after
 * Redis came back (figures: bench/FINDINGS.md, “Behind the code's comments”); a connection attempt on a LAN costs next to nothing.
 */
function retryDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 4), 500);
}

export function connectRedis(url: string, logger: Logger): RedisClients {
  const base: RedisOptions = { retryStrategy: retryDelay, connectTimeout: 2_000 };
  const open = (name: string, options: RedisOptions) => {
    const client = new Redis(url, { ...base, ...options, connectionName: `palaver-${name}` });
    let lastLogged = 0;
    client.on('error', (error: Error) => {
      // One line per connection per 10 s while Redis is away, not one per retry.
      if (Date.now() - lastLogged < 10_000) return;
      lastLogged = Date.now();
      logger.warn({ err: error, connection: name }, 'redis connection failed; retrying');
    });
    return client;
  };
  const commands = open('commands', { maxRetriesPerRequest: 1 });
  // Subscriptions are renewed by ioredis after each reconnect; a SUBSCRIBE sent while Redis is
  // away waits for it rather than failing.
  const subscriber = open('subscriber', { maxRetriesPerRequest: null });
  const blocking = open('blocking', { maxRetriesPerRequest: 1 });
  const limiter = open('limiter', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  return {
    instanceId: randomUUID(),
    commands,
    subscriber,
    blocking,
    limiter,
    close: () => {
      for (const client of [commands, subscriber, blocking, limiter]) client.disconnect();
    },
  };
}
