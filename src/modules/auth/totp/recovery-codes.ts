/**
 * Recovery codes: 10 single-use codes, shown once. Each holds 60 random bits (12 base32
 * letters); stored only as an HMAC under a key derived from SECRET_KEY and bound to the user,
 * so a copy of the database yields no working code and no offline guessing without the key.
 */
import { createHmac, hkdfSync, randomInt } from 'node:crypto';
import { Types } from 'mongoose';
import type { RecoveryCodeModel } from './recovery-code.model';

export const RECOVERY_CODE_COUNT = 10;
/** RFC 4648 base32 letters: no 0/1/8/9, which people confuse with O/I/B/g. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const GROUPS = 3;
const GROUP_LENGTH = 4;

export class RecoveryCodes {
  private readonly key: Buffer;

  constructor(
    private readonly models: { RecoveryCode: RecoveryCodeModel },
    secretKey: string,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', secretKey, '', 'palaver recovery codes', 32));
  }

  /** Replaces every code of the user with a new set; returns them (the only time they exist). */
  async replace(userId: string): Promise<string[]> {
    await this.deleteAll(userId);
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
    const createdAt = new Date();
    await this.models.RecoveryCode.insertMany(
      codes.map((code) => ({
        _id: this.hashOf(userId, code),
        userId: new Types.ObjectId(userId),
        createdAt,
      })),
    );
    return codes;
  }

  /** True once for each code: the delete by `_id` is what spends it. */
  async use(userId: string, code: string): Promise<boolean> {
    const normalized = normalize(code);
    if (normalized.length !== GROUPS * GROUP_LENGTH) return false;
    const spent = await this.models.RecoveryCode.findOneAndDelete({
      _id: this.hashOf(userId, normalized),
    }).lean();
    return spent !== null;
  }

  remaining(userId: string): Promise<number> {
    return this.models.RecoveryCode.countDocuments({ userId: new Types.ObjectId(userId) });
  }

  async deleteAll(userId: string): Promise<void> {
    await this.models.RecoveryCode.deleteMany({ userId: new Types.ObjectId(userId) });
  }

  private hashOf(userId: string, code: string): string {
    return createHmac('sha256', this.key)
      .update(`${userId}:${normalize(code)}`)
      .digest('base64url');
  }
}

function newCode(): string {
  const letters = Array.from({ length: GROUPS * GROUP_LENGTH }, () => ALPHABET[randomInt(32)]);
  const groups = [];
  for (let i = 0; i < GROUPS; i++) {
    groups.push(letters.slice(i * GROUP_LENGTH, (i + 1) * GROUP_LENGTH).join(''));
  }
  return groups.join('-');
}

/** Typed as shown or not: dashes and spaces dropped, letter case ignored. */
function normalize(code: string): string {
  return code.replace(/[\s-]/g, '').toUpperCase();
}
