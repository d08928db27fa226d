/**
 * Access tokens: short-lived HS256/384/512 JWTs. Protects against forged or confused tokens:
 * the algorithm is pinned on verify (no `none`, no algorithm switch), issuer, audience and
 * expiry are checked, and a `typ` claim keeps other signed tokens from passing as access ones.
 * The secret is a KeyObject: with a string secret jsonwebtoken re-imports it on every call,
 * which makes verify about 50 times slower.
 */
import { LRUCache } from 'lru-cache';
import { createSecretKey, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Config } from '../../config/config';

const ACCESS_TOKEN_TYPE = 'access';

export interface AccessTokenClaims {
  userId: string;
  sessionId: string;
  expiresAt: Date;
}

/** Tokens remembered as verified (~0.5 KB each): a client's calls share one until it expires. */
const VERIFIED_TOKENS = 10_000;

export class AccessTokens {
  private readonly key: KeyObject;
  /**
   * Tokens that verified here, with their claims. A client presents the same token on every
   * call until it expires, and each full verify (signature, claims) cost a few percent of a
   * whole chat reply's CPU (figures: bench/FINDINGS.md, “Behind the code's comments”). Only the exact string that verified is found, and
   * expiry is checked again on every hit, as jsonwebtoken checks it.
   */
  private readonly verified = new LRUCache<string, AccessTokenClaims>({ max: VERIFIED_TOKENS });

  constructor(private readonly config: Config['auth']) {
    this.key = createSecretKey(Buffer.from(config.secretKey, 'utf8'));
  }

  issue(userId: string, sessionId: string): { token: string; expiresAt: Date } {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const exp = nowSeconds + this.config.accessTokenTtlSeconds;
    const token = jwt.sign(
      { sid: sessionId, typ: ACCESS_TOKEN_TYPE, iat: nowSeconds, exp },
      this.key,
      {
        algorithm: this.config.algorithm,
        subject: userId,
        issuer: this.config.issuer,
        audience: this.config.audience,
        // A unique id keeps two tokens issued in the same second distinct.
        jwtid: randomUUID(),
      },
    );
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** The claims of a valid access token, 'expired', or null for anything else. */
  verify(token: string): AccessTokenClaims | 'expired' | null {
    const known = this.verified.get(token);
    if (known) return Date.now() < known.expiresAt.getTime() ? known : 'expired';
    try {
      const payload = jwt.verify(token, this.key, {
        algorithms: [this.config.algorithm],
        issuer: this.config.issuer,
        audience: this.config.audience,
      });
      if (typeof payload !== 'object' || payload === null) return null;
      const { sub, sid, typ, exp } = payload as jwt.JwtPayload & { sid?: unknown; typ?: unknown };
      if (typ !== ACCESS_TOKEN_TYPE || typeof sub !== 'string' || typeof sid !== 'string')
        return null;
      if (typeof exp !== 'number') return null;
      const claims = { userId: sub, sessionId: sid, expiresAt: new Date(exp * 1000) };
      this.verified.set(token, claims);
      return claims;
    } catch (error) {
      return error instanceof jwt.TokenExpiredError ? 'expired' : null;
    }
  }
}
