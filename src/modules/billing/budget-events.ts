import type { PalaverPubSub } from '../../pubsub/pubsub';

/** Per user: a budget crossed 80 % or 100 % of a limit (issue 35). */
export const BUDGET_EVENTS = 'BUDGET_EVENTS';

/** Plain JSON-safe data (it may cross Redis); the resolver adds the budget as it is then. */
export interface BudgetEventPayload {
  /** The share of the limit now used: 80 or 100. */
  percent: 80 | 100;
}

declare module '../../pubsub/pubsub' {
  interface TopicPayloads {
    [BUDGET_EVENTS]: [userId: string, payload: BudgetEventPayload];
  }
}

/** Tells the owner's devices (budgetEvents) that the month's budget is nearly or fully spent. */
export class BudgetEvents {
  constructor(private readonly pubSub: PalaverPubSub) {}

  publish(userId: string, event: BudgetEventPayload): void {
    this.pubSub.publish(BUDGET_EVENTS, userId, event);
  }

  subscribe(userId: string): AsyncIterableIterator<BudgetEventPayload> {
    return this.pubSub.subscribe(BUDGET_EVENTS, userId);
  }
}

/** The thresholds a settle crossed, going from `before` to `after` of `limit`. */
export function crossed(before: number, after: number, limit: number | undefined): Array<80 | 100> {
  if (limit === undefined || limit <= 0) return [];
  return ([80, 100] as const).filter(
    (percent) => before < (limit * percent) / 100 && after >= (limit * percent) / 100,
  );
}
