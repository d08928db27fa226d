import { randomUUID } from 'node:crypto';
import { ReplyError, type Redis } from 'ioredis';
import type { Logger } from '../../log/logger';
import type { Amount, BudgetPeriod, BudgetStore, Limits } from './budget-store';
import { LocalBudgetStore } from './local-budget-store';
import { nextMonthStart } from './periods';

/** Margin past a reply's longest run before its reservation lapses (its instance died). */
const LEASE_MARGIN_MS = 60_000;
/** A month's Redis keys outlive the month by this much (late settles still find them). */
const MONTH_KEY_GRACE_MS = 2 * 86_400_000;
/** The floating-point slack of cost sums (fits() in budget-store.ts). */
const COST_EPSILON = 1e-9;

/**
 * KEYS: the month's used totals (hash t, c), its reservations (hash id → "t:c:lapsesAt").
 * ARGV: now, limit tokens (-1: none), limit USD (-1: none), tokens, USD, id, lapsesAt, key TTL ms.
 * -1: the used totals are not in Redis yet (seed them from the ledger and call again);
 * 0: does not fit; 1: reserved. Lapsed reservations (their instance died) are dropped first.
 */
const RESERVE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local usedT = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
local usedC = tonumber(redis.call('HGET', KEYS[1], 'c') or '0')
local now = tonumber(ARGV[1])
local held = redis.call('HGETALL', KEYS[2])
local resT, resC = 0, 0
for i = 1, #held, 2 do
  local t, c, lapses = string.match(held[i + 1], '([^:]+):([^:]+):([^:]+)')
  if tonumber(lapses) < now then
    redis.call('HDEL', KEYS[2], held[i])
  else
    resT = resT + tonumber(t)
    resC = resC + tonumber(c)
  end
end
local limitT, limitC = tonumber(ARGV[2]), tonumber(ARGV[3])
if limitT >= 0 and usedT + resT + tonumber(ARGV[4]) > limitT then return 0 end
if limitC >= 0 and usedC + resC + tonumber(ARGV[5]) > limitC + ${COST_EPSILON} then return 0 end
redis.call('HSET', KEYS[2], ARGV[6], ARGV[4] .. ':' .. ARGV[5] .. ':' .. ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[8])
return 1
`;

/** KEYS: used totals, reservations. ARGV: id, tokens used, USD used. */
const SETTLE_LUA = `
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 't', ARGV[2])
  redis.call('HINCRBYFLOAT', KEYS[1], 'c', ARGV[3])
end
return 1
`;

/** KEYS: used totals. ARGV: tokens, USD, TTL ms. Only where no instance seeded it first. */
const SEED_LUA = `
if redis.call('HSETNX', KEYS[1], 't', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'c', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1
`;

interface BudgetCommands {
  palaverBudgetReserve(k1: string, k2: string, ...args: Array<string | number>): Promise<number>;
  palaverBudgetSettle(k1: string, k2: string, ...args: Array<string | number>): Promise<number>;
  palaverBudgetSeed(k1: string, ...args: Array<string | number>): Promise<number>;
}

/**
 * Reservations shared by every instance: one Lua script checks a month's used total (kept in
 * Redis, seeded from the ledger) plus every live reservation against the limit and adds the
 * new one, so concurrent sends on any instance cannot all pass. Redis away: like the rate
 * limits, each instance reserves in its own memory (LocalBudgetStore), and the Redis totals of
 * a month that missed a settle meanwhile are dropped at the next reserve and seeded again from
 * the ledger (reconciled).
 */
export class RedisBudgetStore implements BudgetStore {
  private readonly fallback: LocalBudgetStore;
  /** Months whose Redis totals missed a settle: seeded again from the ledger next time. */
  private readonly stale = new Set<string>();

  constructor(
    private readonly redis: Redis,
    private readonly usedOf: (period: BudgetPeriod) => Promise<Amount>,
    private readonly leaseMs: number,
    private readonly logger: Logger,
  ) {
    this.fallback = new LocalBudgetStore(usedOf);
    redis.defineCommand('palaverBudgetReserve', { numberOfKeys: 2, lua: RESERVE_LUA });
    redis.defineCommand('palaverBudgetSettle', { numberOfKeys: 2, lua: SETTLE_LUA });
    redis.defineCommand('palaverBudgetSeed', { numberOfKeys: 1, lua: SEED_LUA });
    // Back after an outage: the totals that missed settles go, for any instance to seed again.
    redis.on('ready', this.onReady);
  }

  private readonly onReady = () => void this.reconcile();

  /** Drops the Redis totals of months that missed a settle; the next reserve seeds them. */
  private async reconcile(): Promise<void> {
    for (const key of [...this.stale]) {
      try {
        await this.redis.del(key);
        this.stale.delete(key);
      } catch {
        return; // away again: the next reserve or reconnect tries once more
      }
    }
  }

  async reserve(period: BudgetPeriod, limits: Limits, amount: Amount): Promise<string | null> {
    const [usedKey, heldKey] = keysOf(period);
    const id = randomUUID();
    const now = Date.now();
    const ttl = nextMonthStart(new Date(now)).getTime() - now + MONTH_KEY_GRACE_MS;
    try {
      if (this.stale.delete(usedKey)) await this.redis.del(usedKey);
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const granted = await this.commands.palaverBudgetReserve(
          usedKey,
          heldKey,
          now,
          limits.tokens ?? -1,
          limits.costUsd ?? -1,
          amount.tokens,
          amount.costUsd,
          id,
          now + this.leaseMs + LEASE_MARGIN_MS,
          ttl,
        );
        if (granted === 1) return id;
        if (granted === 0) return null;
        const used = await this.usedOf(period);
        await this.commands.palaverBudgetSeed(usedKey, used.tokens, used.costUsd, ttl);
      }
      throw new Error('the budget totals could not be seeded in Redis');
    } catch (error) {
      if (!isRedisDown(error)) throw error;
      this.logger.warn({ err: error }, 'Redis is away: budgets are reserved per instance');
      this.stale.add(usedKey);
      return this.fallback.reserve(period, limits, amount);
    }
  }

  async settle(period: BudgetPeriod, reservationId: string, used: Amount): Promise<void> {
    const [usedKey, heldKey] = keysOf(period);
    if (this.fallback.holds(period, reservationId)) {
      // Made while Redis was away: the Redis totals missed it and are seeded again later.
      this.stale.add(usedKey);
      return this.fallback.settle(period, reservationId);
    }
    try {
      await this.commands.palaverBudgetSettle(
        usedKey,
        heldKey,
        reservationId,
        used.tokens,
        used.costUsd,
      );
    } catch (error) {
      // The ledger has the usage; the reservation lapses by itself, the totals are seeded again.
      this.logger.warn({ err: error }, 'settling a budget in Redis failed; it is reconciled later');
      this.stale.add(usedKey);
    }
  }

  close(): void {
    this.redis.off('ready', this.onReady);
    this.fallback.close();
  }

  private get commands(): BudgetCommands {
    return this.redis as unknown as BudgetCommands;
  }
}

function keysOf({ userId, month }: BudgetPeriod): [string, string] {
  return [`palaver:budget:{${userId}}:${month}:used`, `palaver:budget:{${userId}}:${month}:held`];
}

/** Redis could not be reached, or did not answer (a script's own error is a bug to surface). */
function isRedisDown(error: unknown): boolean {
  return !(error instanceof ReplyError);
}
