import { BadUserInputError } from '../../errors/errors';
import { CHAT_LIMITS } from './chat.inputs';

export interface NormalizedTags {
  /** As written, trimmed, first spelling of each kept. */
  tags: string[];
  /** Lower-cased, for filters and counts. */
  tagKeys: string[];
}

export const tagKey = (tag: string) => tag.trim().toLowerCase();

/** A chat's new tags: trimmed, repeats (ignoring case) dropped, within the limits. */
export function normalizeTags(input: readonly string[]): NormalizedTags {
  const tags: string[] = [];
  const tagKeys: string[] = [];
  for (const raw of input) {
    const tag = raw.trim();
    if (tag.length === 0) throw new BadUserInputError({ tags: 'A tag cannot be empty.' });
    if (tag.length > CHAT_LIMITS.maxTagLength) {
      throw new BadUserInputError({
        tags: `A tag may be at most ${CHAT_LIMITS.maxTagLength} characters.`,
      });
    }
    const key = tagKey(tag);
    if (tagKeys.includes(key)) continue;
    tags.push(tag);
    tagKeys.push(key);
  }
  if (tags.length > CHAT_LIMITS.maxTags) {
    throw new BadUserInputError({ tags: `A chat may have at most ${CHAT_LIMITS.maxTags} tags.` });
  }
  return { tags, tagKeys };
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
