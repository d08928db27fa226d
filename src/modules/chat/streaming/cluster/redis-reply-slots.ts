import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LocalReplySlots, slotOf, type ReplySlot, type ReplySlots } from '../reply-slots';
import { replyKeys } from './redis-reply-keys';

/** A held slot lapses this long after its holder last refreshed it (a dead instance's do). */
const SLOT_LEASE_MS = 10_000;
const SLOT_REFRESH_MS = 2_000;

/**
 * Drops lapsed slots, then takes one if fewer than the cap are held. KEYS: the user's slots.
 * ARGV: now, lapse time, max, slot id.
 */
const TAKE_SLOT_LUA = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ${SLOT_LEASE_MS * 2})
return 1
`;

/**
 * The cap shared by every instance: a sorted set per user in Redis, one member per held slot,
 * scored by when it lapses. The holder refreshes its slots every 2 s, so the slots of an
 * instance that died free themselves within 10 s. Redis away: the cap falls back to this
 * instance's own count, so sends go on (per instance) rather than fail.
 */
export class RedisReplySlots implements ReplySlots {
  private readonly mine = new Map<string, string>();
  private readonly fallback = new LocalReplySlots();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly redis: Redis) {
    redis.defineCommand('palaverTakeSlot', { numberOfKeys: 1, lua: TAKE_SLOT_LUA });
    this.timer = setInterval(() => void this.refresh(), SLOT_REFRESH_MS);
    this.timer.unref();
  }

  async take(userId: string, max: number): Promise<ReplySlot | null> {
    const slotId = randomUUID();
    const key = replyKeys.slots(userId);
    let taken: number;
    try {
      const now = Date.now();
      taken = await (
        this.redis as unknown as {
          palaverTakeSlot(key: string, ...args: Array<string | number>): Promise<number>;
        }
      ).palaverTakeSlot(key, now, now + SLOT_LEASE_MS, max, slotId);
    } catch {
      return this.fallback.take(userId, max);
    }
    if (taken !== 1) return null;
    this.mine.set(slotId, key);
    return slotOf(() => {
      this.mine.delete(slotId);
      this.redis.zrem(key, slotId).catch(() => {});
    });
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    if (this.mine.size === 0) return;
    const until = Date.now() + SLOT_LEASE_MS;
    const pipeline = this.redis.pipeline();
    for (const [slotId, key] of this.mine) pipeline.zadd(key, 'XX', until, slotId);
    await pipeline.exec().catch(() => {});
  }
}
