import {
  BUDGET_ENV,
  FULL_REPLY,
  PLAN_TOKENS,
  RESERVATION_TOKENS,
  budgetOf,
  settled,
  trySend,
} from './helpers/budgets';
import { registerUser } from './helpers/accounts';
import { useClusterPair } from './helpers/cluster-pair';
import { setTimeout as sleep } from 'node:timers/promises';

const TRIALS = 3;

/**
 * Reservations are checked in Redis by one script, so sends spread over the instances of a
 * cluster spend one budget (checked per instance, two instances would spend it twice).
 */
describe('budgets across a cluster', () => {
  const cluster = useClusterPair({ env: BUDGET_ENV });

  it('should never let 40 concurrent sends alternating on A and B spend more than the budget plus one reservation', async () => {
    const { a, b } = cluster;
    a.openai.defaultReply = FULL_REPLY;
    b.openai.defaultReply = FULL_REPLY;
    for (let trial = 0; trial < TRIALS; trial += 1) {
      const user = await registerUser(a);
      const token = user.auth.accessToken;
      const userId = user.auth.user.id;
      let accepted = 0;
      for (let burst = 0; burst < 4; burst += 1) {
        const codes = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            trySend(i % 2 === 0 ? a : b, token, `c${burst}-${i}`),
          ),
        );
        const ok = codes.filter((code) => code === 'OK').length;
        expect(
          codes.filter((code) => !['OK', 'BUDGET_EXCEEDED', 'RATE_LIMITED'].includes(code)),
        ).toEqual([]);
        expect(ok).toBeLessThanOrEqual(3);
        if (burst === 0) expect(codes).toContain('BUDGET_EXCEEDED');
        accepted += ok;
        await settled(a, userId, accepted * 2);
        for (const app of [a, b]) {
          const { used } = await budgetOf(app, token);
          expect(used.totalTokens).toBeLessThanOrEqual(PLAN_TOKENS + RESERVATION_TOKENS);
        }
        if (ok === 0) break;
      }
      expect(accepted).toBeGreaterThanOrEqual(3);
    }
  }, 120_000);

  it('should let a reply on A that used less than its reservation free the rest for a send on B', async () => {
    const { a, b } = cluster;
    a.openai.defaultReply = {
      chunks: ['small'],
      usage: { prompt_tokens: 5, completion_tokens: 5 },
    };
    b.openai.defaultReply = a.openai.defaultReply;
    const user = await registerUser(a);
    const token = user.auth.accessToken;
    for (let i = 0; i < 6; i += 1) {
      expect(await trySend(i % 2 === 0 ? a : b, token, `small ${i}`)).toBe('OK');
      await settled(a, user.auth.user.id, (i + 1) * 2);
    }
    expect((await budgetOf(b, token)).used.totalTokens).toBe(6 * 10 + 6 * 8);
  });

  it('should keep taking sends per instance while Redis is away, and count them once it is back', async () => {
    const { a, b, redis } = cluster;
    a.openai.defaultReply = FULL_REPLY;
    b.openai.defaultReply = FULL_REPLY;
    const user = await registerUser(a);
    const token = user.auth.accessToken;
    const userId = user.auth.user.id;
    expect(await trySend(a, token, 'up')).toBe('OK');
    await settled(a, userId, 2);
    await redis.stop();
    try {
      // Away: A reserves in its own memory against the ledger (168 used + 167 fit in 510).
      expect(await trySend(a, token, 'away')).toBe('OK');
      await settled(a, userId, 4);
    } finally {
      await redis.start();
    }
    await sleep(1_500); // the connections come back
    // 336 used: one more fits, then none. Redis had missed the reply made while it was away;
    // without the reconciliation it would count 168 and take a fourth reply.
    expect(await trySend(b, token, 'back')).toBe('OK');
    await settled(a, userId, 6);
    expect(await trySend(b, token, 'over')).toBe('BUDGET_EXCEEDED');
    expect((await budgetOf(a, token)).used.totalTokens).toBe(3 * 168);
  }, 60_000);
});
