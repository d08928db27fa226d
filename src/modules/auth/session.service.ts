/**
 * Sessions and refresh tokens. Protects against stolen refresh tokens (single use, rotated on
 * every refresh; presenting an old one ends the whole session, since either the thief or the
 * owner is replaying it) and against ended sessions living on (access tokens are checked
 * against the session on every call, and sockets are told to close).
 */
import { isValidObjectId, Types } from 'mongoose';
import type { Config } from '../../config/config';
import type { UserModel } from '../users/user.model';
import { op } from '../../db/trusted';
import type { Viewer } from '../../graphql/context';
import { newOpaqueToken, hashOpaqueToken, successorOfOpaqueToken } from './opaque-token';
import type { RequestMeta } from '../../graphql/request-meta';
import type { SessionRecord, SessionModel } from './session.model';
import type { SessionEndedFeed, SessionEndedPayload } from './session-ended';
import { LiveSessionCache, type LiveSession } from './live-session-cache';

/** How many superseded refresh-token hashes a session remembers to recognise reuse. */
const REMEMBERED_REFRESH_HASHES = 20;
/** `lastUsedAt` is refreshed at most this often, so reads do not turn into writes. */
const LAST_USED_RESOLUTION_MS = 5 * 60_000;
const MAX_USER_AGENT_LENGTH = 512;
/** A session found live is trusted this long without another read (see LiveSessionCache). */
const LIVE_SESSION_CACHE_MS = 5_000;
const LIVE_SESSION_CACHE_ENTRIES = 50_000;
/**
 * Live sessions one user may have (one per login or device). A new one past this ends the
 * least recently used, so a script that signs in in a loop cannot grow the collection.
 */
export const MAX_SESSIONS_PER_USER = 50;

export interface IssuedSession {
  sessionId: string;
  refreshToken: string;
}

export type RefreshOutcome =
  | { kind: 'rotated'; userId: string; session: IssuedSession }
  | { kind: 'invalid' }
  | { kind: 'reused' };

export class SessionService {
  private readonly live = new LiveSessionCache(LIVE_SESSION_CACHE_MS, LIVE_SESSION_CACHE_ENTRIES);

  constructor(
    private readonly models: { User: UserModel; Session: SessionModel },
    private readonly config: Config['auth'],
    private readonly sessionsEnded: SessionEndedFeed,
  ) {}

  /**
   * Forgets sessions that other instances end (this instance forgets its own at once). Returns
   * the function that stops listening.
   */
  listenForEndedSessions(onError: (error: unknown) => void): () => Promise<void> {
    return this.sessionsEnded.subscribe((ended) => this.live.forget(ended), onError);
  }

  /**
   * A new session for a sign-in that read the user at `epoch` (UserRecord.sessionEpoch). Null
   * when every session of the user ended meanwhile (or the account went or is closing): the
   * session is then removed again. Checked after the insert, so an ending that runs at any
   * moment either sees the session (and deletes it) or changed the epoch before this check.
   */
  async create(userId: string, meta: RequestMeta, epoch: number): Promise<IssuedSession | null> {
    const now = new Date();
    const sessionId = new Types.ObjectId();
    const refreshToken = formatRefreshToken(sessionId.toString(), newOpaqueToken());
    await this.models.Session.create({
      _id: sessionId,
      userId: new Types.ObjectId(userId),
      refreshTokenHash: hashOpaqueToken(refreshToken),
      previousRefreshTokenHashes: [],
      userAgent: meta.userAgent?.slice(0, MAX_USER_AGENT_LENGTH),
      ip: meta.ip,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: new Date(now.getTime() + this.config.refreshTokenTtlSeconds * 1000),
    });
    await this.evictBeyondCap(userId);
    const user = await this.models.User.findById(userId, { sessionEpoch: 1, closingAt: 1 }).lean();
    if (!user || user.closingAt || (user.sessionEpoch ?? 0) !== epoch) {
      await this.models.Session.deleteOne({ _id: sessionId });
      this.announceEnded({ userId, sessionId: sessionId.toString() });
      return null;
    }
    return { sessionId: sessionId.toString(), refreshToken };
  }

  /** Ends the user's least recently used sessions past MAX_SESSIONS_PER_USER. */
  private async evictBeyondCap(userId: string): Promise<void> {
    const surplus = await this.models.Session.find({ userId }, { _id: 1 })
      .sort({ lastUsedAt: -1, _id: -1 })
      .skip(MAX_SESSIONS_PER_USER)
      .lean();
    if (surplus.length === 0) return;
    await this.models.Session.deleteMany({ _id: op({ $in: surplus.map((s) => s._id) }) });
    for (const { _id } of surplus) this.announceEnded({ userId, sessionId: String(_id) });
  }

  /**
   * Swaps a refresh token for a new one. The swap is one conditional update that matches only
   * the current hash, so of many concurrent calls with one token exactly one rotates. Two tabs
   * refreshing at once must not sign the user out, so the same token presented again within
   * `refreshReuseGraceMs`, while its successor is still unused, gets that same successor
   * (derived, not stored: see successorOfOpaqueToken). Any other superseded token is a replay:
   * the whole session ends, since either the thief or the owner is replaying it.
   */
  async rotate(refreshToken: string, meta: RequestMeta): Promise<RefreshOutcome> {
    const sessionId = sessionIdOf(refreshToken);
    if (!sessionId) return { kind: 'invalid' };
    const presentedHash = hashOpaqueToken(refreshToken);
    const now = new Date();
    const next = formatRefreshToken(
      sessionId,
      successorOfOpaqueToken(this.config.secretKey, refreshToken),
    );
    const nextHash = hashOpaqueToken(next);

    const rotated = await this.models.Session.findOneAndUpdate(
      { _id: sessionId, refreshTokenHash: presentedHash, expiresAt: op({ $gt: now }) },
      {
        $set: {
          refreshTokenHash: nextHash,
          rotatedFromHash: presentedHash,
          rotatedAt: now,
          lastUsedAt: now,
          ip: meta.ip,
        },
        $push: {
          previousRefreshTokenHashes: {
            $each: [presentedHash],
            $slice: -REMEMBERED_REFRESH_HASHES,
          },
        },
      },
      { returnDocument: 'after' },
    ).lean();
    if (rotated) return this.rotatedTo(rotated, sessionId, next);

    // Within the grace window, and the successor still unused: the same pair again.
    const current = await this.models.Session.findById(sessionId).lean();
    if (
      current &&
      current.expiresAt > now &&
      current.rotatedFromHash === presentedHash &&
      current.refreshTokenHash === nextHash &&
      current.rotatedAt &&
      now.getTime() - current.rotatedAt.getTime() <= this.config.refreshReuseGraceMs
    ) {
      return this.rotatedTo(current, sessionId, next);
    }

    // Not the current token: if it is a superseded one of this session, somebody replays it.
    const replayed = await this.models.Session.findOneAndDelete(
      { _id: sessionId, previousRefreshTokenHashes: presentedHash },
      {},
    ).lean();
    if (replayed) {
      this.announceEnded({ userId: String(replayed.userId), sessionId });
      return { kind: 'reused' };
    }
    return { kind: 'invalid' };
  }

  private rotatedTo(
    session: SessionRecord,
    sessionId: string,
    refreshToken: string,
  ): RefreshOutcome {
    return {
      kind: 'rotated',
      userId: String(session.userId),
      session: { sessionId, refreshToken },
    };
  }

  /**
   * The viewer of a live session, or null. One lookup by primary key; owner and expiry are
   * checked here rather than in the filter, because FerretDB 1.24 scans the whole collection
   * for any filter beyond `_id` (figures: bench/FINDINGS.md, “Behind the code's comments”).
   */
  async findLive(userId: string, sessionId: string): Promise<Viewer | null> {
    if (!isValidObjectId(sessionId) || !isValidObjectId(userId)) return null;
    const now = Date.now();
    let session: LiveSession | undefined = this.live.get(sessionId, now);
    if (!session) {
      const epoch = this.live.currentEpoch;
      const found = await this.models.Session.findById(sessionId, {
        userId: 1,
        lastUsedAt: 1,
        expiresAt: 1,
      }).lean();
      if (!found || found.expiresAt.getTime() <= now) return null;
      session = {
        userId: String(found.userId),
        expiresAt: found.expiresAt,
        lastUsedAt: found.lastUsedAt,
      };
      this.live.remember(sessionId, session, epoch, now);
    }
    if (session.userId !== userId) return null;
    if (now - session.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      const at = new Date(now);
      this.live.touch(sessionId, at);
      // Best effort: a lost update only makes `lastUsedAt` a little older.
      void this.models.Session.updateOne({ _id: sessionId }, { $set: { lastUsedAt: at } })
        .exec()
        .catch(() => undefined);
    }
    return { userId, sessionId };
  }

  async list(userId: string): Promise<SessionRecord[]> {
    return this.models.Session.find(
      { userId, expiresAt: op({ $gt: new Date() }) },
      { refreshTokenHash: 0, previousRefreshTokenHashes: 0, rotatedFromHash: 0 },
    )
      .sort({ lastUsedAt: -1, _id: -1 })
      .lean();
  }

  /** Ends one session of `userId`; false when there is no such session of theirs. */
  async end(userId: string, sessionId: string): Promise<boolean> {
    if (!isValidObjectId(sessionId)) return false;
    const result = await this.models.Session.deleteOne({ _id: sessionId, userId });
    if (result.deletedCount === 0) return false;
    this.announceEnded({ userId, sessionId });
    return true;
  }

  /** Ends the session a refresh token belongs to (logout with only the refresh token). */
  async endByRefreshToken(refreshToken: string): Promise<boolean> {
    const sessionId = sessionIdOf(refreshToken);
    if (!sessionId) return false;
    const ended = await this.models.Session.findOneAndDelete(
      { _id: sessionId, refreshTokenHash: hashOpaqueToken(refreshToken) },
      {},
    ).lean();
    if (!ended) return false;
    this.announceEnded({ userId: String(ended.userId), sessionId });
    return true;
  }

  /**
   * Ends every session of a user, or every one but `exceptSessionId`. The epoch moves first:
   * a sign-in under way whose session this delete misses sees it moved and ends its own.
   */
  async endAll(userId: string, exceptSessionId?: string): Promise<void> {
    await this.models.User.updateOne({ _id: userId }, { $inc: { sessionEpoch: 1 } });
    const filter = exceptSessionId
      ? { userId, _id: op({ $ne: new Types.ObjectId(exceptSessionId) }) }
      : { userId };
    await this.models.Session.deleteMany(filter);
    this.announceEnded({ userId, sessionId: null, exceptSessionId });
  }

  /** Deletes expired sessions (no TTL index on FerretDB); run periodically. */
  async sweepExpired(): Promise<number> {
    const result = await this.models.Session.deleteMany({ expiresAt: op({ $lte: new Date() }) });
    return result.deletedCount;
  }

  /** Forgotten here before the caller hears back; other instances hear it by pub/sub. */
  private announceEnded(payload: SessionEndedPayload): void {
    this.live.forget(payload);
    this.sessionsEnded.announce(payload);
  }
}

/** `<sessionId>.<secret>`: the id finds the session, the secret proves possession. */
function formatRefreshToken(sessionId: string, secret: string): string {
  return `${sessionId}.${secret}`;
}

function sessionIdOf(refreshToken: string): string | null {
  const [sessionId, secret, ...rest] = refreshToken.split('.');
  if (rest.length > 0 || !secret || !sessionId || !isValidObjectId(sessionId)) return null;
  return sessionId;
}
