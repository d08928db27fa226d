import { LRUCache } from 'lru-cache';
import type { SessionEndedPayload } from './session-ended';

/** A session known to be live when it was read. */
export interface LiveSession {
  userId: string;
  expiresAt: Date;
  lastUsedAt: Date;
}

interface Entry extends LiveSession {
  readAt: number;
}

/**
 * Remembers sessions found live for a few seconds, so that an authenticated request costs one
 * database command fewer (on FerretDB with its single connection, half of a `me`). An ended
 * session is forgotten at once: here by `forget*` from the code that ends it, on other
 * instances by the SESSION_ENDED event. The short lifetime only bounds the damage of a lost
 * event; expiry is checked on every hit.
 */
export class LiveSessionCache {
  /** Bounded, least recently used dropped first. Lifetime is checked against the caller's clock. */
  private readonly entries: LRUCache<string, Entry>;
  /** Bumped by every forget, so that a read that raced an ending is not remembered. */
  private epoch = 0;

  constructor(
    private readonly lifetimeMs: number,
    maxEntries: number,
  ) {
    this.entries = new LRUCache({ max: maxEntries });
  }

  get(sessionId: string, now: number): LiveSession | undefined {
    const entry = this.entries.get(sessionId);
    if (!entry) return undefined;
    if (now - entry.readAt > this.lifetimeMs || entry.expiresAt.getTime() <= now) {
      this.entries.delete(sessionId);
      return undefined;
    }
    return entry;
  }

  /** Taken before a database read; `remember` ignores the read if a session ended meanwhile. */
  get currentEpoch(): number {
    return this.epoch;
  }

  remember(sessionId: string, session: LiveSession, readEpoch: number, now: number): void {
    if (readEpoch !== this.epoch) return;
    this.entries.set(sessionId, { ...session, readAt: now });
  }

  /** `lastUsedAt` was refreshed in the database. */
  touch(sessionId: string, at: Date): void {
    const entry = this.entries.peek(sessionId);
    if (entry) entry.lastUsedAt = at;
  }

  /** One session, or all of a user's (but `exceptSessionId`) when `sessionId` is null. */
  forget(ended: SessionEndedPayload): void {
    this.epoch += 1;
    if (ended.sessionId) {
      this.entries.delete(ended.sessionId);
      return;
    }
    // Collected first: deleting from an LRUCache while iterating it may skip entries.
    const endedIds = [...this.entries.entries()]
      .filter(([id, entry]) => entry.userId === ended.userId && id !== ended.exceptSessionId)
      .map(([id]) => id);
    for (const id of endedIds) this.entries.delete(id);
  }
}
