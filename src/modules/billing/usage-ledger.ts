import { mongo } from 'mongoose';
import type { Logger } from '../../log/logger';
import type { UsageRecordModel } from './usage-record.model';
import type { UsageTotalModel } from './usage-total.model';
import { dayOf, monthOf } from './periods';
import type { CallUsage, UsageCost } from './usage-cost';

const DUPLICATE_KEY = 11000;

/** One model call to count. */
export interface LedgerEntry {
  /** Idempotency: a reply's message id, or `title:<chatId>`. */
  id: string;
  kind: 'reply' | 'title';
  userId: string;
  provider: string;
  model: string;
  usage: CallUsage;
  at: Date;
}

export interface Recorded {
  costUsd: number;
  /** The month's total right after this call's own update (atomic: each call sees its own). */
  monthAfter: { tokens: number; costUsd: number };
}

/** The keys of a user's totals (usage-total.model.ts). */
export const totalIds = {
  day: (userId: string, day: string) => `d:${userId}:${day}`,
  dayModel: (userId: string, day: string, modelKey: string) => `dm:${userId}:${day}:${modelKey}`,
  month: (userId: string, month: string) => `m:${userId}:${month}`,
};

/** `<provider>:<model>`, as day totals list them. */
export function modelKeyOf(provider: string, model: string): string {
  return `${provider}:${model}`;
}

/**
 * Records each model call once and adds it to the user's day, day-and-model and month totals
 * with `$inc` upserts: single-document updates, atomic on MongoDB, and on the local database
 * because it runs on one connection (DATABASE.md).
 */
export class UsageLedger {
  constructor(
    private readonly models: { UsageRecord: UsageRecordModel; UsageTotal: UsageTotalModel },
    private readonly cost: UsageCost,
    private readonly logger: Logger,
  ) {}

  /**
   * Counts a call: its cost in USD, and the month's total just after this call's own `$inc`
   * (null when it was counted already).
   */
  async record(entry: LedgerEntry): Promise<Recorded | null> {
    const { userId, provider, model, usage, at } = entry;
    const costUsd = this.cost.costOf(model, usage);
    try {
      await this.models.UsageRecord.create({
        _id: entry.id,
        kind: entry.kind,
        userId,
        provider,
        model,
        ...usage,
        costUsd,
        at,
      });
    } catch (error) {
      if (error instanceof mongo.MongoServerError && error.code === DUPLICATE_KEY) return null;
      throw error;
    }
    const day = dayOf(at);
    const modelKey = modelKeyOf(provider, model);
    const $inc = {
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      reasoningTokens: usage.reasoningTokens,
      totalTokens: usage.totalTokens,
      costUsd,
      replies: 1,
    };
    const upsert = (_id: string, extra: Record<string, unknown> = {}) => ({
      updateOne: {
        filter: { _id },
        update: { $inc, $setOnInsert: { userId }, ...extra },
        upsert: true,
      },
    });
    const [, month] = await Promise.all([
      this.models.UsageTotal.bulkWrite(
        [
          upsert(totalIds.day(userId, day), { $addToSet: { models: modelKey } }),
          upsert(totalIds.dayModel(userId, day, modelKey)),
        ],
        { ordered: false },
      ),
      this.models.UsageTotal.findOneAndUpdate(
        { _id: totalIds.month(userId, monthOf(at)) },
        { $inc, $setOnInsert: { userId } },
        { upsert: true, returnDocument: 'after' },
      ).lean(),
    ]);
    return {
      costUsd,
      monthAfter: { tokens: month?.totalTokens ?? 0, costUsd: month?.costUsd ?? 0 },
    };
  }

  /** Records a call, logging instead of throwing (a reply's end must not fail on its count). */
  recordQuietly(entry: LedgerEntry): Promise<Recorded | null> {
    return this.record(entry).catch((error: unknown) => {
      this.logger.error({ err: error, id: entry.id }, 'recording usage failed');
      return null;
    });
  }
}
