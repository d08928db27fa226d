/**
 * Characters a token, counted low (English averages about 4) so that an estimate errs high:
 * where a budget or a count must be known before, or without, the provider's own figure.
 */
export const CHARS_PER_TOKEN = 3;

/** The tokens `chars` characters of text come to, estimated high. */
export function estimateTokens(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN);
}
