/**
 * RFC 6238 codes through otplib (maintained, audited base32 and HMAC from @noble/@scure):
 * SHA-1, 6 digits, 30 s, what every authenticator app reads from an otpauth:// URL.
 */
import { generateSecret, generateURI, verify } from 'otplib';

/**
 * Codes of the previous and the next 30 s step are accepted too: a phone's clock a little off,
 * or a code typed as it rolled over (RFC 6238 §5.2 recommends at most one step of drift).
 */
const EPOCH_TOLERANCE_SECONDS = 30;
/** Shown as the account's issuer in authenticator apps. */
export const TOTP_ISSUER = 'Palaver';

/** A new shared secret, base32 (20 random bytes, RFC 4226's recommended length). */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

export function otpauthUrlOf(secret: string, email: string): string {
  return generateURI({ issuer: TOTP_ISSUER, label: email, secret });
}

/**
 * The time step a right code belongs to, or null for a wrong one. `afterStep` refuses codes of
 * that step and earlier: a code that was accepted once is never accepted again.
 */
export async function verifyTotpCode(
  secret: string,
  code: string,
  afterStep: number,
): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  const result = await verify({
    secret,
    token: code,
    epochTolerance: EPOCH_TOLERANCE_SECONDS,
    afterTimeStep: afterStep,
  }).catch(() => ({ valid: false as const }));
  return result.valid && 'timeStep' in result ? result.timeStep : null;
}
