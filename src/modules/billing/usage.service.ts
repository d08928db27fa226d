import { BadUserInputError } from '../../errors/errors';
import { findByIds } from '../../db/by-id';
import type { ProviderName } from '../../config/provider-names';
import type { UsageTotalModel, UsageTotalRecord } from './usage-total.model';
import { totalIds } from './usage-ledger';
import { dayOf, daysBetween } from './periods';
import { UsageGrouping, type UsageBucket, type UsageTotal } from './usage.types';

/** The widest range one `usage` call reads (one document per day, by `_id`). */
export const USAGE_MAX_DAYS = 366;

/** `usage(from, to, groupBy)`: read from the running totals, never from messages. */
export class UsageService {
  constructor(private readonly models: { UsageTotal: UsageTotalModel }) {}

  async usage(
    userId: string,
    from: Date,
    to: Date,
    groupBy: UsageGrouping,
  ): Promise<UsageBucket[]> {
    if (!(from < to)) throw new BadUserInputError({ to: '`to` must be after `from`.' });
    const days = daysBetween(from, to);
    if (days.length > USAGE_MAX_DAYS) {
      throw new BadUserInputError({ to: `Ask for at most ${USAGE_MAX_DAYS} days at a time.` });
    }
    const dayIds = days.map((day) => totalIds.day(userId, dayOf(day)));
    const dayTotals = await findByIds(this.models.UsageTotal, dayIds);
    if (groupBy === UsageGrouping.DAY) {
      return days.flatMap((day, i) => {
        const total = dayTotals.get(dayIds[i]!);
        return total ? [{ day, provider: null, model: null, usage: toUsage(total) }] : [];
      });
    }
    const pairs = days.flatMap((day, i) =>
      (dayTotals.get(dayIds[i]!)?.models ?? []).map((key) => ({ day: dayOf(day), key })),
    );
    const perModel = await findByIds(
      this.models.UsageTotal,
      pairs.map(({ day, key }) => totalIds.dayModel(userId, day, key)),
    );
    const sums = new Map<string, UsageTotal>();
    for (const { day, key } of pairs) {
      const total = perModel.get(totalIds.dayModel(userId, day, key));
      if (total) sums.set(key, add(sums.get(key), toUsage(total)));
    }
    return [...sums]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, usage]) => {
        const split = key.indexOf(':');
        return {
          day: null,
          provider: key.slice(0, split) as ProviderName,
          model: key.slice(split + 1),
          usage,
        };
      });
  }
}

export function toUsage(total: Partial<UsageTotalRecord> | null | undefined): UsageTotal {
  return {
    promptTokens: total?.promptTokens ?? 0,
    completionTokens: total?.completionTokens ?? 0,
    reasoningTokens: total?.reasoningTokens ?? 0,
    totalTokens: total?.totalTokens ?? 0,
    costUsd: total?.costUsd ?? 0,
    replies: total?.replies ?? 0,
  };
}

function add(sum: UsageTotal | undefined, usage: UsageTotal): UsageTotal {
  if (!sum) return usage;
  return {
    promptTokens: sum.promptTokens + usage.promptTokens,
    completionTokens: sum.completionTokens + usage.completionTokens,
    reasoningTokens: sum.reasoningTokens + usage.reasoningTokens,
    totalTokens: sum.totalTokens + usage.totalTokens,
    costUsd: sum.costUsd + usage.costUsd,
    replies: sum.replies + usage.replies,
  };
}
