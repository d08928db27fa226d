import type { ReportedUsage } from '../../llm/model-client';

/**
 * What chat asks of billing (its narrow interface): reserve a reply's most before anything is
 * saved, and settle it when the reply ends; count the other model calls (titles).
 */
export interface ReplyBudget {
  /**
   * Reserves the reply's maximum cost for the user's month: FORBIDDEN (reason
   * MODEL_NOT_IN_PLAN) for a model outside the plan, BUDGET_EXCEEDED when it does not fit.
   */
  reserve(request: ReplyCostRequest): Promise<ReplyCharge>;
  /** Counts a model call that is not a reply (a title); never throws. */
  countCall(call: {
    id: string;
    userId: string;
    provider: string;
    model: string;
    usage: ReportedUsage;
  }): void;
}

export interface ReplyCostRequest {
  userId: string;
  provider: string;
  model: string;
  /** The characters of the prompt the model will read (the reservation estimates its tokens). */
  promptChars: number;
}

/** A reply's reservation. Exactly one of its methods is called, once. */
export interface ReplyCharge {
  /** The reply ended (any way): its usage counts, the rest of the reservation is freed. */
  settle(messageId: string, usage: ReportedUsage | null): void;
  /** The send failed before its reply started: the reservation is freed, nothing counts. */
  release(): void;
}
