import type { GraphQLFormattedError } from 'graphql';

/**
 * The last guard of "no error ever echoes a variable's value" (CONTRACT, conformance): graphql-js
 * quotes values in its coercion messages ("String cannot represent a non string value: {…}"),
 * scalars and resolvers name what they refuse, and a password or token sent where another
 * type belongs would travel back in the error into client-side reports. Every string and
 * number of the request's variables is cut out of every error's message and extensions before
 * the response leaves, on HTTP and on the socket. Shorter values than this are left: they
 * would cut ordinary words out of messages, and no secret of Palaver's is that short.
 */
const MIN_VALUE_LENGTH = 4;
/**
 * At most this many values are cut (the first found, shallowest first): what libraries quote is
 * near the top (graphql-js prints at most 10 items of a list and 2 levels of objects), and
 * cutting costs a pass over each error's text per value.
 */
const MAX_VALUES = 10_000;
const PLACEHOLDER = '[value]';

/** The string and number leaves of `variables` worth cutting out, longest first. */
export function valuesOf(variables: unknown): string[] {
  const found = new Set<string>();
  // Breadth first, by index (not shift): a list of 100,000 costs one pass.
  const queue: unknown[] = [variables];
  for (let next = 0; next < queue.length && found.size < MAX_VALUES; next += 1) {
    const value = queue[next];
    if (typeof value === 'string' || typeof value === 'number') {
      const text = String(value);
      if (text.length >= MIN_VALUE_LENGTH) found.add(text);
    } else if (value !== null && typeof value === 'object') {
      // One by one: spreading a list of 100,000 would overflow the call stack.
      for (const inner of Object.values(value)) queue.push(inner);
    }
  }
  return [...found].sort((a, b) => b.length - a.length);
}

/** `errors` with every value of `variables` replaced, in messages and extensions alike. */
export function scrubErrors<T extends GraphQLFormattedError>(
  errors: readonly T[],
  variables: unknown,
): T[] {
  const values = valuesOf(variables);
  if (values.length === 0) return [...errors];
  const scrubText = (text: string) =>
    values.reduce((result, value) => result.split(value).join(PLACEHOLDER), text);
  const scrub = (value: unknown): unknown => {
    if (typeof value === 'string') return scrubText(value);
    if (Array.isArray(value)) return value.map(scrub);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, scrub(inner)]));
    }
    return value;
  };
  return errors.map((error) => ({
    ...error,
    message: scrubText(error.message),
    ...(error.extensions ? { extensions: scrub(error.extensions) as T['extensions'] } : {}),
  }));
}
