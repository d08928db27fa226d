/**
 * What resolvers declare about their fields for the GraphQL assembly to act on: the cost of a
 * list (read by the query limits) and subscription events passed through unchanged (read when
 * the schema is built). Kept here, below the modules, so that a resolver never imports the
 * assembly that imports it.
 */

/**
 * The cost of a list field that returns `argument` items (1 to `max`), each costing its
 * selection. The argument is clamped into that range first: a negative or huge `limit` is
 * refused by the resolver later, but must not make a cost negative (letting the rest of the
 * document through) or overflow it.
 */
export const costPerItem =
  (argument: string, fallback: number, max: number) =>
  ({ args, childComplexity }: { args: Record<string, unknown>; childComplexity: number }) => {
    const given = args[argument];
    const count =
      typeof given === 'number' && Number.isFinite(given)
        ? Math.min(Math.max(Math.trunc(given), 1), max)
        : fallback;
    return 1 + count * childComplexity;
  };

/**
 * Marks a subscription field whose resolver returns each event unchanged (with
 * `@Extensions(PASS_EVENT_THROUGH)`). Its `subscribe` already checked the caller once; the
 * events then skip TypeGraphQL's per-call work (middlewares, argument conversion), which runs
 * for every event, so for every token of a streamed reply.
 */
export const PASS_EVENT_THROUGH = { passEventThrough: true } as const;
