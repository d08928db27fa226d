/**
 * Free-form profile metadata. Protects against prototype pollution (`__proto__`,
 * `constructor`, `prototype` keys), operator and path injection into the database (`$` and
 * `.` in keys, which FerretDB also refuses), and unbounded documents (depth and size limits).
 * Every key at every depth is checked before anything is merged or stored.
 */
export const METADATA_LIMITS = {
  maxBytes: 16 * 1024,
  maxDepth: 10,
} as const;

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export type Metadata = Record<string, unknown>;

/**
 * The first problem with `value`, or null when it may be stored. The message names the level,
 * never a key: keys are the client's data, and no error repeats what the client sent.
 */
export function findMetadataProblem(value: unknown, depth = 1): string | null {
  if (depth > METADATA_LIMITS.maxDepth) {
    return `Metadata may nest at most ${METADATA_LIMITS.maxDepth} levels deep.`;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const problem = findMetadataProblem(value[i], depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  if (value === null || typeof value !== 'object') return null;
  for (const key of Object.keys(value)) {
    if (key === '' || key.startsWith('$') || key.includes('.') || FORBIDDEN_KEYS.has(key)) {
      return `A metadata key at level ${depth} is not allowed: keys may not be empty, start with "$", contain ".", or be __proto__, constructor or prototype.`;
    }
    const problem = findMetadataProblem((value as Metadata)[key], depth + 1);
    if (problem) return problem;
  }
  return null;
}

/**
 * Merges `changes` into `current` one level deep; a null value removes its key. Built with
 * defineProperty semantics (Object.fromEntries), never by assignment, so no key can reach a
 * prototype even if it slipped past validation.
 */
export function mergeMetadata(current: Metadata, changes: Metadata): Metadata {
  const merged = new Map(Object.entries(current));
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) merged.delete(key);
    else merged.set(key, value);
  }
  return Object.fromEntries(merged);
}

export function metadataSize(value: Metadata): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}
