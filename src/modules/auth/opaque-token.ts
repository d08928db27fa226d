/**
 * Opaque secrets (refresh and email tokens). Protects against a database leak turning into
 * account takeover: only a SHA-256 hash is stored, and 32 random bytes (256 bits) make the
 * hash safe to look up directly (no salt or slow hash is needed for a secret of full entropy).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';

export const OPAQUE_TOKEN_BYTES = 32;

export function newOpaqueToken(): string {
  return randomBytes(OPAQUE_TOKEN_BYTES).toString('base64url');
}

export function hashOpaqueToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

/**
 * The secret that follows `token` in a rotation, derived with the server's key: the same
 * token always rotates to the same successor, so a refresh repeated within the grace window
 * gets the pair the first one got without the server keeping that pair anywhere but hashed.
 * Without the key, a token says nothing about its successor.
 */
export function successorOfOpaqueToken(key: string, token: string): string {
  return createHmac('sha256', key).update(`refresh-rotation:${token}`).digest('base64url');
}
