/** Tokens and USD: what a budget limits, and what a reply reserves or used. */
export interface Amount {
  tokens: number;
  costUsd: number;
}

/** A month's limits; a dimension left undefined is unlimited. */
export interface Limits {
  tokens?: number;
  costUsd?: number;
}

/** One user's month, as a store is asked about it. */
export interface BudgetPeriod {
  userId: string;
  /** `YYYY-MM` */
  month: string;
}

/**
 * Where reservations are held while replies run. `reserve` is atomic: of concurrent calls,
 * only those whose reservations fit together beside what was used are granted.
 */
export interface BudgetStore {
  /** A reservation id, or null when it does not fit. */
  reserve(period: BudgetPeriod, limits: Limits, amount: Amount): Promise<string | null>;
  /** The reply ended: its reservation goes, its real usage (already in the ledger) counts. */
  settle(period: BudgetPeriod, reservationId: string, used: Amount): Promise<void>;
  /** Drops what the store holds (shutdown). */
  close(): void;
}

/** Whether `used + reserved + amount` stays within `limits`. */
export function fits(limits: Limits, used: Amount, reserved: Amount, amount: Amount): boolean {
  if (
    limits.tokens !== undefined &&
    used.tokens + reserved.tokens + amount.tokens > limits.tokens
  ) {
    return false;
  }
  return !(
    limits.costUsd !== undefined &&
    used.costUsd + reserved.costUsd + amount.costUsd > limits.costUsd + COST_EPSILON
  );
}

/** Floating sums of prices: a budget met to the last fraction of a cent is still met. */
const COST_EPSILON = 1e-9;
