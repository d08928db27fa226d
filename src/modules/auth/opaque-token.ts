/**
 * Opaque secrets (refresh and email tokens). Protects against a database leak turning into
 * account takeover: only a SHA-256 hash is stored, and 32 random bytes (256 bits) make the
 * hash safe to look up directly (no salt or slow hash is needed for a secret of full entropy).
 */
import { createHash, randomBytes } from 'node:crypto';

export const OPAQUE_TOKEN_BYTES = 32;

export function newOpaqueToken(): string {
  return randomBytes(OPAQUE_TOKEN_BYTES).toString('base64url');
}

export function hashOpaqueToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}
