import { LiveSessionCache } from '../src/modules/auth/live-session-cache';

/** The cache that saves a session read per request must never keep an ended session alive. */
describe('live session cache', () => {
  const later = (ms: number) => new Date(Date.now() + ms);
  const session = (userId: string) => ({
    userId,
    expiresAt: later(60_000),
    lastUsedAt: new Date(),
  });

  it('should forget a session the moment it ends', () => {
    const cache = new LiveSessionCache(5_000, 100);
    const now = Date.now();
    cache.remember('s1', session('u1'), cache.currentEpoch, now);
    expect(cache.get('s1', now)?.userId).toBe('u1');
    cache.forget({ userId: 'u1', sessionId: 's1' });
    expect(cache.get('s1', now)).toBeUndefined();
  });

  it('should not remember a read that raced the session ending', () => {
    const cache = new LiveSessionCache(5_000, 100);
    const epochBeforeRead = cache.currentEpoch;
    cache.forget({ userId: 'u1', sessionId: 's1' });
    cache.remember('s1', session('u1'), epochBeforeRead, Date.now());
    expect(cache.get('s1', Date.now())).toBeUndefined();
  });

  it("should forget all of a user's sessions but the one kept, and nobody else's", () => {
    const cache = new LiveSessionCache(5_000, 100);
    const now = Date.now();
    for (const [id, user] of [
      ['a', 'u1'],
      ['b', 'u1'],
      ['c', 'u1'],
      ['d', 'u2'],
    ] as const) {
      cache.remember(id, session(user), cache.currentEpoch, now);
    }
    cache.forget({ userId: 'u1', sessionId: null, exceptSessionId: 'b' });
    expect(['a', 'b', 'c', 'd'].map((id) => cache.get(id, now) !== undefined)).toEqual([
      false,
      true,
      false,
      true,
    ]);
  });

  it('should trust a read only for its lifetime, and never past the expiry', () => {
    const cache = new LiveSessionCache(5_000, 100);
    const now = Date.now();
    cache.remember('s1', session('u1'), cache.currentEpoch, now);
    expect(cache.get('s1', now + 4_999)).toBeDefined();
    expect(cache.get('s1', now + 5_001)).toBeUndefined();
    cache.remember(
      's2',
      { ...session('u1'), expiresAt: new Date(now + 1_000) },
      cache.currentEpoch,
      now,
    );
    expect(cache.get('s2', now + 1_000)).toBeUndefined();
  });

  it('should hold at most its bound, dropping the least recently used', () => {
    const cache = new LiveSessionCache(5_000, 2);
    const now = Date.now();
    for (const id of ['a', 'b', 'c']) cache.remember(id, session('u1'), cache.currentEpoch, now);
    expect(['a', 'b', 'c'].map((id) => cache.get(id, now) !== undefined)).toEqual([
      false,
      true,
      true,
    ]);
  });
});
