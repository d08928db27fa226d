/**
 * The wait after a mail's `attempts`-th failed attempt: `firstRetryMs` doubled each time, capped
 * at `maxRetryMs`, with ±20 % jitter so that mails queued during one outage do not all come
 * back in the same second.
 */
export function retryDelayMs(
  attempts: number,
  schedule: { firstRetryMs: number; maxRetryMs: number },
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 30);
  const base = Math.min(schedule.firstRetryMs * 2 ** exponent, schedule.maxRetryMs);
  return Math.round(base * (0.8 + 0.4 * random()));
}
