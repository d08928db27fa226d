/** Budgets run by calendar month and totals by day, both in UTC. */

/** `YYYY-MM-DD` of `at`, UTC. */
export function dayOf(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** `YYYY-MM` of `at`, UTC: a budget's period. */
export function monthOf(at: Date): string {
  return at.toISOString().slice(0, 7);
}

/** When the month of `at` ends (its budget renews). */
export function nextMonthStart(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
}

/** The start of each UTC day that overlaps [from, to). */
export function daysBetween(from: Date, to: Date): Date[] {
  const days: Date[] = [];
  const first = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
  for (let at = first; at < to.getTime(); at += 86_400_000) days.push(new Date(at));
  return days;
}
