/**
 * Tokens of shared links. Protects against a database leak opening links: the database holds a
 * random nonce and the token's SHA-256 only; the token is an HMAC of the nonce under the
 * server's secret key, so the owner's server can show the link again (`chatShares`) and a
 * reader of the database cannot. 32 random bytes of nonce: 256 bits a guess must match.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { hashOpaqueToken } from '../../auth/opaque-token';

const NONCE_BYTES = 32;

export const newShareNonce = () => randomBytes(NONCE_BYTES).toString('base64url');

export function shareToken(secretKey: string, shareId: string, nonce: string): string {
  return createHmac('sha256', secretKey)
    .update(`chat-share:${shareId}:${nonce}`)
    .digest('base64url');
}

export const hashShareToken = hashOpaqueToken;
