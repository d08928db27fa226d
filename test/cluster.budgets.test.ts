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
});
