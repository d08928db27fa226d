import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';
import type { Metrics } from '../metrics/metrics';
import { RateLimitedError } from '../errors/errors';
import { rateLimitKeyOfIp } from './client-address-key';

export interface RateLimitRule {
  points: number;
  durationSeconds: number;
}

/**
 * Every limit the API enforces, by name. Each counts operation calls (not HTTP requests), so
 * aliases in one document and operations sent over the WebSocket count one by one.
 */
export const DEFAULT_RATE_LIMITS = {
  /** Failed sign-ins for one address: slows password guessing against one account. */
  loginFailuresPerEmail: { points: 10, durationSeconds: 15 * 60 },
  /** Failed sign-ins from one address: slows credential stuffing across accounts. */
  loginFailuresPerIp: { points: 100, durationSeconds: 15 * 60 },
  /**
   * Wrong second-factor codes (TOTP or recovery) for one account, whatever the challenge:
   * 10 a quarter of an hour (CONTRACT.md, sign-in beyond passwords).
   */
  secondFactorFailuresPerUser: { points: 10, durationSeconds: 15 * 60 },
  /** Mails (verification, reset) to one address: at most 1 a minute and 5 an hour. */
  mailPerAddressPerMinute: { points: 1, durationSeconds: 60 },
  mailPerAddressPerHour: { points: 5, durationSeconds: 60 * 60 },
  /** Mail requests from one client address, whatever the target. */
  mailPerIp: { points: 30, durationSeconds: 60 * 60 },
  registrationsPerIp: { points: 20, durationSeconds: 60 * 60 },
  /** Chat prompts per user. */
  messagesPerUserPerMinute: { points: 20, durationSeconds: 60 },
  /** Shared-link reads from one client address: slows guessing (and scraping) of links. */
  sharedChatPerIp: { points: 60, durationSeconds: 60 },
} satisfies Record<string, RateLimitRule>;

export type RateLimitName = keyof typeof DEFAULT_RATE_LIMITS;

/** Limits keyed on the client's address: counted per IPv6 /64 (see rateLimitKeyOfIp). */
const KEYED_ON_CLIENT_ADDRESS = new Set<RateLimitName>([
  'loginFailuresPerIp',
  'mailPerIp',
  'registrationsPerIp',
  'sharedChatPerIp',
]);
export type RateLimitRules = Record<RateLimitName, RateLimitRule>;

/** Named limiters in memory, or in Redis so that several instances share one count. */
export class RateLimits {
  private readonly limiters = new Map<RateLimitName, RateLimiterAbstract>();

  constructor(
    rules: RateLimitRules,
    redis?: Redis,
    private readonly metrics?: Metrics,
  ) {
    for (const [name, rule] of Object.entries(rules) as Array<[RateLimitName, RateLimitRule]>) {
      const options = {
        keyPrefix: `palaver:${name}`,
        points: rule.points,
        duration: rule.durationSeconds,
      };
      this.limiters.set(
        name,
        redis
          ? new RateLimiterRedis({
              ...options,
              storeClient: redis,
              // Redis away: each instance counts in its own memory until Redis answers again,
              // so limits loosen to per-instance instead of every call failing INTERNAL.
              insuranceLimiter: new RateLimiterMemory(options),
            })
          : new RateLimiterMemory(options),
      );
    }
  }

  /** Counts one call; throws RATE_LIMITED with `retryAfterSeconds` when over the limit. */
  async consume(name: RateLimitName, key: string): Promise<void> {
    try {
      await this.limiter(name).consume(this.keyOf(name, key));
    } catch (error) {
      if (error instanceof RateLimiterRes) {
        this.metrics?.rateLimited.inc({ limit: name });
        throw new RateLimitedError(error.msBeforeNext / 1000);
      }
      throw error;
    }
  }

  /**
   * Counts one call and says whether it was within the limit, without throwing: for limits
   * keyed on someone else's address, whose refusal must not be visible to the caller.
   */
  async tryConsume(name: RateLimitName, key: string): Promise<boolean> {
    try {
      await this.limiter(name).consume(this.keyOf(name, key));
      return true;
    } catch (error) {
      if (error instanceof RateLimiterRes) return false;
      throw error;
    }
  }

  /**
   * Gives back a point counted by `consume`: an attempt is counted before it is evaluated (so
   * that concurrent attempts cannot all pass a check made before any of them counted) and
   * refunded when it turns out not to be what the limit is about (a sign-in that succeeded).
   */
  async refund(name: RateLimitName, key: string): Promise<void> {
    await this.limiter(name).reward(this.keyOf(name, key), 1);
  }

  /** Counts one unit without throwing (a mail the server sends on its own, as at sign-up). */
  async penalize(name: RateLimitName, key: string): Promise<void> {
    await this.limiter(name).penalty(this.keyOf(name, key), 1);
  }

  async reset(name: RateLimitName, key: string): Promise<void> {
    await this.limiter(name).delete(this.keyOf(name, key));
  }

  private limiter(name: RateLimitName): RateLimiterAbstract {
    return this.limiters.get(name)!;
  }

  private keyOf(name: RateLimitName, key: string): string {
    return KEYED_ON_CLIENT_ADDRESS.has(name) ? rateLimitKeyOfIp(key) : key;
  }
}
