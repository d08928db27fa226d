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
  private readonly entries = new Map<string, Entry>();
  /** Bumped by every forget, so that a read that raced an ending is not remembered. */
  private epoch = 0;

  constructor(
    private readonly lifetimeMs: number,
    private readonly maxEntries: number,
  ) {}

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
    if (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest read.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.delete(sessionId);
    this.entries.set(sessionId, { ...session, readAt: now });
  }

  /** `lastUsedAt` was refreshed in the database. */
  touch(sessionId: string, at: Date): void {
    const entry = this.entries.get(sessionId);
    if (entry) entry.lastUsedAt = at;
  }

  /** One session, or all of a user's (but `exceptSessionId`) when `sessionId` is null. */
  forget(ended: SessionEndedPayload): void {
    this.epoch += 1;
    if (ended.sessionId) {
      this.entries.delete(ended.sessionId);
      return;
    }
    for (const [sessionId, entry] of this.entries) {
      if (entry.userId === ended.userId && sessionId !== ended.exceptSessionId) {
        this.entries.delete(sessionId);
      }
    }
  }
}
