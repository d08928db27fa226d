import type { BillingConfig } from '../../config/billing-config';
import { BadUserInputError } from '../../errors/errors';
import type { BillingAccountModel } from './billing-account.model';
import type { BudgetGate } from './budget-gate';
import { monthOf, nextMonthStart } from './periods';
import type { UsageTotalModel } from './usage-total.model';
import { totalIds } from './usage-ledger';
import { toUsage } from './usage.service';
import type { BudgetStatus, Plan, SelfBudgetInput } from './usage.types';

/** `budget`, `setSelfBudget` and `plans`. */
export class BudgetService {
  constructor(
    private readonly models: { BillingAccount: BillingAccountModel; UsageTotal: UsageTotalModel },
    private readonly billing: BillingConfig,
    private readonly gate: BudgetGate,
  ) {}

  plans(): Plan[] {
    return this.billing.plans.map((plan) => ({
      id: plan.id,
      name: plan.name,
      monthlyTokens: plan.monthlyTokens ?? null,
      monthlyCostUsd: plan.monthlyCostUsd ?? null,
      models: plan.models ?? null,
    }));
  }

  async status(userId: string, now = new Date()): Promise<BudgetStatus> {
    const month = monthOf(now);
    const [{ plan, limits }, used] = await Promise.all([
      this.gate.effective(userId),
      this.models.UsageTotal.findById(totalIds.month(userId, month)).lean(),
    ]);
    return {
      period: month,
      limitTokens: limits.tokens ?? null,
      limitCostUsd: limits.costUsd ?? null,
      used: toUsage(used),
      resetsAt: nextMonthStart(now),
      plan: plan.id,
    };
  }

  /** The user's own caps: a cap above the plan's is refused, so the plan's stays the lowest. */
  async setSelf(userId: string, input: SelfBudgetInput): Promise<BudgetStatus> {
    const { plan } = await this.gate.effective(userId);
    const fields: Record<string, string> = {};
    const { monthlyTokens, monthlyCostUsd } = input;
    if (monthlyTokens != null && monthlyTokens < 0) fields.monthlyTokens = 'Must be 0 or more.';
    if (monthlyCostUsd != null && !(monthlyCostUsd >= 0 && Number.isFinite(monthlyCostUsd))) {
      fields.monthlyCostUsd = 'Must be 0 or more.';
    }
    if (
      monthlyTokens != null &&
      plan.monthlyTokens !== undefined &&
      monthlyTokens > plan.monthlyTokens
    ) {
      fields.monthlyTokens = `Your plan (${plan.name}) allows at most ${plan.monthlyTokens} tokens a month.`;
    }
    if (
      monthlyCostUsd != null &&
      plan.monthlyCostUsd !== undefined &&
      monthlyCostUsd > plan.monthlyCostUsd
    ) {
      fields.monthlyCostUsd = `Your plan (${plan.name}) allows at most ${plan.monthlyCostUsd} USD a month.`;
    }
    if (Object.keys(fields).length) throw new BadUserInputError(fields);
    await this.models.BillingAccount.updateOne(
      { _id: userId },
      {
        $set: {
          selfMonthlyTokens: monthlyTokens ?? null,
          selfMonthlyCostUsd: monthlyCostUsd ?? null,
        },
      },
      { upsert: true },
    );
    return this.status(userId);
  }
}
