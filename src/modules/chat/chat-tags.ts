import { BadUserInputError } from '../../errors/errors';
import { CHAT_LIMITS } from './chat.inputs';

export interface NormalizedTags {
  /** As written, trimmed, first spelling of each kept. */
  tags: string[];
  /** Lower-cased, for filters and counts. */
  tagKeys: string[];
}

export const tagKey = (tag: string) => tag.trim().toLowerCase();

/**
 * Characters as people count them: code points (an emoji is one, not two UTF-16 units). A
 * string of more than two units per allowed character is too long whatever it holds, so a
 * huge one is never split into an array.
 */
function tooLong(tag: string): boolean {
  const max = CHAT_LIMITS.maxTagLength;
  return tag.length > 2 * max || [...tag].length > max;
}

/**
 * Control characters (NUL among them) and the invisible marks that reorder text around them
 * (bidirectional overrides, embeddings, isolates, and the direction marks): a tag is a short
 * label shown in lists, where these only serve to disguise it.
 */
const FORBIDDEN_IN_TAGS = /[\p{Cc}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;

/**
 * A chat's new tags: trimmed, repeats (ignoring case) dropped, within the limits. Linear in the
 * list, and it stops at the first tag past the limit (the input's own bound refuses long lists).
 */
export function normalizeTags(input: readonly string[]): NormalizedTags {
  const byKey = new Map<string, string>();
  for (const raw of input) {
    const tag = raw.trim();
    if (tag.length === 0) throw new BadUserInputError({ tags: 'A tag cannot be empty.' });
    if (tooLong(tag)) {
      throw new BadUserInputError({
        tags: `A tag may be at most ${CHAT_LIMITS.maxTagLength} characters.`,
      });
    }
    if (FORBIDDEN_IN_TAGS.test(tag)) {
      throw new BadUserInputError({
        tags: 'A tag may not contain control or bidirectional-override characters.',
      });
    }
    const key = tagKey(tag);
    if (byKey.has(key)) continue;
    if (byKey.size === CHAT_LIMITS.maxTags) {
      throw new BadUserInputError({ tags: `A chat may have at most ${CHAT_LIMITS.maxTags} tags.` });
    }
    byKey.set(key, tag);
  }
  return { tags: [...byKey.values()], tagKeys: [...byKey.keys()] };
}

/** How many chats carry each tag, most used first, spelled as first seen. */
export function countTags(
  chats: ReadonlyArray<{ tags?: string[] }>,
): Array<{ tag: string; count: number }> {
  const counts = new Map<string, { tag: string; count: number }>();
  for (const chat of chats) {
    for (const tag of chat.tags ?? []) {
      const entry = counts.get(tagKey(tag));
      if (entry) entry.count += 1;
      else counts.set(tagKey(tag), { tag, count: 1 });
    }
  }
  return [...counts.values()].sort((a, b) => b.count - a.count || a.tag.localeCompare(b.tag));
}
