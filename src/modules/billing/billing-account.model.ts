import { modelOptions, prop, type ReturnModelType } from '@typegoose/typegoose';

/**
 * A user's plan and caps, `_id` = the user's id (read by `_id` on every send). Kept apart from
 * the user's document so that billing writes never race profile or sign-in writes.
 */
@modelOptions({ schemaOptions: { collection: 'billing_accounts', timestamps: true } })
export class BillingAccountRecord {
  @prop({ type: () => String, required: true })
  _id!: string;

  /** Unset: DEFAULT_PLAN. */
  @prop({ type: () => String })
  plan?: string | null;

  /** setSelfBudget: the user's own monthly caps, never above the plan's. */
  @prop({ type: () => Number })
  selfMonthlyTokens?: number | null;

  @prop({ type: () => Number })
  selfMonthlyCostUsd?: number | null;

  /** An admin's override (issue 34 gives it an API; until then it is set in the database). */
  @prop({ type: () => Number })
  adminMonthlyTokens?: number | null;

  @prop({ type: () => Number })
  adminMonthlyCostUsd?: number | null;

  /** The Stripe customer of this user, once they started a checkout. */
  @prop({ type: () => String })
  stripeCustomerId?: string | null;

  /**
   * The `created` time (Unix seconds) of the Stripe event that last set the plan: an older event
   * arriving later changes nothing (Stripe does not promise order).
   */
  @prop({ type: () => Number })
  planEventAt?: number | null;

  /** A payment failed: the plan holds until then, then DEFAULT_PLAN applies. */
  @prop({ type: () => Date })
  graceUntil?: Date | null;
}

export type BillingAccountModel = ReturnModelType<typeof BillingAccountRecord>;
