import type { BillingConfig, PlanConfig } from '../../config/billing-config';
import { BudgetExceededError, ForbiddenError } from '../../errors/errors';
import type { ReportedUsage } from '../../llm/model-client';
import type { Logger } from '../../log/logger';
import type { BillingAccountModel, BillingAccountRecord } from './billing-account.model';
import type { Amount, BudgetStore, Limits } from './budget-store';
import { monthOf, nextMonthStart } from './periods';
import type { ReplyBudget, ReplyCharge, ReplyCostRequest } from './reply-budget';
import type { UsageCost } from './usage-cost';
import type { UsageLedger } from './usage-ledger';
import { estimateTokens } from '../../llm/token-estimate';
import { crossed, type BudgetEvents } from './budget-events';

/**
 * A prompt's tokens are estimated from its characters before it is sent (llm/token-estimate.ts),
 * plus a fixed allowance for the message framing and system text.
 */
const PROMPT_OVERHEAD_TOKENS = 64;

/** The plan, limits and user behind a send. */
export interface EffectiveBudget {
  plan: PlanConfig;
  limits: Limits;
}

/**
 * Reserves each reply's most before its send saves anything, and settles it to the real usage
 * when it ends (issue 35). The effective limit is the lowest of the plan's, an admin's and the
 * user's own; with none, nothing is reserved (usage is still counted).
 */
export class BudgetGate implements ReplyBudget {
  constructor(
    private readonly models: { BillingAccount: BillingAccountModel },
    private readonly billing: BillingConfig,
    private readonly maxReplyTokens: number,
    private readonly store: BudgetStore,
    private readonly ledger: UsageLedger,
    private readonly cost: UsageCost,
    private readonly events: BudgetEvents,
    private readonly logger: Logger,
  ) {}

  async reserve(request: ReplyCostRequest): Promise<ReplyCharge> {
    const { userId, model } = request;
    const { plan, limits } = await this.effective(userId);
    if (plan.models && !plan.models.includes(model)) {
      throw new ForbiddenError(
        `${model} is not part of your plan (${plan.name}); choose one of ${plan.models.join(', ')}, or change plans.`,
        'MODEL_NOT_IN_PLAN',
      );
    }
    const promptTokens = estimateTokens(request.promptChars) + PROMPT_OVERHEAD_TOKENS;
    const amount: Amount = {
      tokens: promptTokens + this.maxReplyTokens,
      costUsd: this.cost.reservationOf(model, promptTokens, this.maxReplyTokens),
    };
    const now = new Date();
    const period = { userId, month: monthOf(now) };
    const limited = limits.tokens !== undefined || limits.costUsd !== undefined;
    const reservationId = limited ? await this.store.reserve(period, limits, amount) : null;
    if (limited && !reservationId) {
      throw new BudgetExceededError(
        nextMonthStart(now),
        `This month's budget cannot cover another reply (it reserves up to ${amount.tokens} tokens); it renews on ${nextMonthStart(now).toISOString().slice(0, 10)}.`,
      );
    }
    let done = false;
    const free = async (used: Amount) => {
      if (reservationId) await this.store.settle(period, reservationId, used);
    };
    return {
      settle: (messageId: string, usage: ReportedUsage | null) => {
        if (done) return;
        done = true;
        void this.settle(messageId, request, usage, (used) => free(used), limited ? limits : null);
      },
      release: () => {
        if (done) return;
        done = true;
        free({ tokens: 0, costUsd: 0 }).catch((error: unknown) =>
          this.logger.warn({ err: error }, 'freeing a budget reservation failed'),
        );
      },
    };
  }

  countCall(call: {
    id: string;
    userId: string;
    provider: string;
    model: string;
    usage: ReportedUsage;
  }): void {
    void this.ledger.recordQuietly({
      id: call.id,
      kind: 'title',
      userId: call.userId,
      provider: call.provider,
      model: call.model,
      usage: { reasoningTokens: 0, ...call.usage },
      at: new Date(),
    });
  }

  /** The plan and the lowest of each limit (plan, admin, self) of a user. */
  async effective(
    userId: string,
  ): Promise<EffectiveBudget & { account: BillingAccountRecord | null }> {
    const account = await this.models.BillingAccount.findById(userId).lean<BillingAccountRecord>();
    // A failed payment's grace period over: the default plan until a payment succeeds.
    const lapsed = account?.graceUntil && account.graceUntil.getTime() < Date.now();
    const plan = this.planOf(lapsed ? null : account?.plan);
    return {
      plan,
      account,
      limits: {
        tokens: lowest(plan.monthlyTokens, account?.adminMonthlyTokens, account?.selfMonthlyTokens),
        costUsd: lowest(
          plan.monthlyCostUsd,
          account?.adminMonthlyCostUsd,
          account?.selfMonthlyCostUsd,
        ),
      },
    };
  }

  planOf(id: string | null | undefined): PlanConfig {
    const plans = this.billing.plans;
    return (
      plans.find((plan) => plan.id === id) ??
      plans.find((plan) => plan.id === this.billing.defaultPlan)!
    );
  }

  /**
   * Tells the user when this call took the month past 80 % or 100 % of a limit: once per
   * crossing, as each call sees the month's total just after its own update (from below the
   * mark to at or above it for exactly one call).
   */
  private alert(userId: string, limits: Limits, used: Amount, after: Amount): void {
    const percents = new Set([
      ...crossed(after.tokens - used.tokens, after.tokens, limits.tokens),
      ...crossed(after.costUsd - used.costUsd, after.costUsd, limits.costUsd),
    ]);
    for (const percent of percents) this.events.publish(userId, { percent });
  }

  /** Counts the reply first, then frees its reservation: a reserve in between sees both, never neither. */
  private async settle(
    messageId: string,
    request: ReplyCostRequest,
    usage: ReportedUsage | null,
    free: (used: Amount) => Promise<void>,
    limits: Limits | null,
  ): Promise<void> {
    try {
      let used: Amount = { tokens: 0, costUsd: 0 };
      let after: Amount | undefined;
      if (usage) {
        const recorded = await this.ledger.recordQuietly({
          id: messageId,
          kind: 'reply',
          userId: request.userId,
          provider: request.provider,
          model: request.model,
          usage: { reasoningTokens: 0, ...usage },
          at: new Date(),
        });
        // Counted already (a second settle): nothing more to count or free against.
        if (recorded) used = { tokens: usage.totalTokens, costUsd: recorded.costUsd };
        after = recorded?.monthAfter;
      }
      await free(used);
      if (limits && after) this.alert(request.userId, limits, used, after);
    } catch (error) {
      this.logger.warn({ err: error, messageId }, 'settling a reply with its budget failed');
    }
  }
}

/** The lowest of the limits that are set (undefined: none is). */
function lowest(...limits: Array<number | null | undefined>): number | undefined {
  const set = limits.filter((limit): limit is number => typeof limit === 'number');
  return set.length ? Math.min(...set) : undefined;
}
