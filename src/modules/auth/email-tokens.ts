/**
 * Mailed single-use tokens (verification, password reset). Protects against token theft from
 * the database (only hashes are stored), replay (consumed by one conditional update, so of
 * concurrent uses exactly one wins), old links (a new token replaces the previous one of its
 * kind; expiry is a timestamp check) and confusion (a token works only for its own purpose).
 */
import { Types } from 'mongoose';
import { op } from '../../db/trusted';
import { EmailTokenPurpose, type EmailTokenModel } from './email-token.model';
import { hashOpaqueToken, newOpaqueToken } from './opaque-token';

/** 32 random bytes are 43 base64url characters; anything else is not one of ours. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export class EmailTokens {
  constructor(private readonly models: { EmailToken: EmailTokenModel }) {}

  /** Issues a token for `userId`, replacing any earlier one of the same purpose. */
  async issue(userId: string, purpose: EmailTokenPurpose, ttlSeconds: number): Promise<string> {
    const token = newOpaqueToken();
    const now = new Date();
    await this.models.EmailToken.updateOne(
      { userId: new Types.ObjectId(userId), purpose },
      {
        $set: {
          tokenHash: hashOpaqueToken(token),
          expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
          usedAt: null,
          createdAt: now,
        },
      },
      { upsert: true },
    );
    return token;
  }

  /** Marks the token used and returns its user id; null if unknown, used, expired or wrong kind. */
  async consume(token: string, purpose: EmailTokenPurpose): Promise<string | null> {
    if (!TOKEN_PATTERN.test(token)) return null;
    const now = new Date();
    const consumed = await this.models.EmailToken.findOneAndUpdate(
      { tokenHash: hashOpaqueToken(token), purpose, usedAt: null, expiresAt: op({ $gt: now }) },
      { $set: { usedAt: now } },
      {},
    ).lean();
    return consumed ? String(consumed.userId) : null;
  }
}
