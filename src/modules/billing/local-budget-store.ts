import { randomUUID } from 'node:crypto';
import { KeyedLocks } from '../../util/keyed-locks';
import {
  fits,
  type Amount,
  type BudgetPeriod,
  type BudgetStore,
  type Limits,
} from './budget-store';

/**
 * Reservations in this process's memory, checked against the month's settled total (read from
 * the ledger by `_id`) under a per-user lock, so concurrent sends of one user are decided one
 * after another. The store of a single instance, and each instance's while Redis is away.
 */
export class LocalBudgetStore implements BudgetStore {
  private readonly locks = new KeyedLocks();
  /** Reservations by user and month, then by id. */
  private readonly held = new Map<string, Map<string, Amount>>();

  constructor(private readonly usedOf: (period: BudgetPeriod) => Promise<Amount>) {}

  reserve(period: BudgetPeriod, limits: Limits, amount: Amount): Promise<string | null> {
    const key = keyOf(period);
    return this.locks.run(key, async () => {
      const used = await this.usedOf(period);
      const mine = this.held.get(key) ?? new Map<string, Amount>();
      if (!fits(limits, used, sum(mine.values()), amount)) return null;
      const id = randomUUID();
      mine.set(id, amount);
      this.held.set(key, mine);
      return id;
    });
  }

  /** Taken under the lock too: the ledger has the usage by now, so a reserve never sees neither. */
  settle(period: BudgetPeriod, reservationId: string): Promise<void> {
    const key = keyOf(period);
    return this.locks.run(key, async () => {
      const mine = this.held.get(key);
      mine?.delete(reservationId);
      if (mine?.size === 0) this.held.delete(key);
    });
  }

  /** Whether this store holds the reservation (it was made here while Redis was away). */
  holds(period: BudgetPeriod, reservationId: string): boolean {
    return this.held.get(keyOf(period))?.has(reservationId) ?? false;
  }

  close(): void {
    this.held.clear();
  }
}

function keyOf({ userId, month }: BudgetPeriod): string {
  return `${userId}:${month}`;
}

function sum(amounts: Iterable<Amount>): Amount {
  const total = { tokens: 0, costUsd: 0 };
  for (const amount of amounts) {
    total.tokens += amount.tokens;
    total.costUsd += amount.costUsd;
  }
  return total;
}
