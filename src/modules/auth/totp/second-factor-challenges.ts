/**
 * Second-factor challenges. Protects against guessing a code through one challenge (5 codes,
 * then it is dead: each attempt is counted by a conditional write *before* the code is checked,
 * so concurrent guesses cannot all pass a check made before any was counted) and against a
 * challenge finishing twice (it is spent by one delete by `_id`, which one caller wins).
 */
import { Types } from 'mongoose';
import { updateByIdIf } from '../../../db/by-id';
import { op } from '../../../db/trusted';
import { SecondFactorRequiredError } from '../../../errors/errors';
import { hashOpaqueToken, newOpaqueToken } from '../opaque-token';
import type { SecondFactorChallengeModel } from './second-factor-challenge.model';

/** CONTRACT.md: single use, 5 minutes, 5 wrong codes. */
export const CHALLENGE_TTL_MS = 5 * 60_000;
export const MAX_CHALLENGE_ATTEMPTS = 5;

/** What a client may send to verifySecondFactor (`extensions.methods`). */
export const SecondFactorMethod = { TOTP: 'TOTP', RECOVERY_CODE: 'RECOVERY_CODE' } as const;

export interface ChallengeAttempt {
  userId: string;
  /** Codes that may still be tried after this one. */
  attemptsLeft: number;
}

export class SecondFactorChallenges {
  constructor(private readonly models: { SecondFactorChallenge: SecondFactorChallengeModel }) {}

  /** Stores a new challenge for the user and returns the error that hands it to the client. */
  async challenge(userId: string): Promise<SecondFactorRequiredError> {
    const token = newOpaqueToken();
    const expiresAt = new Date(Date.now() + CHALLENGE_TTL_MS);
    await this.models.SecondFactorChallenge.create({
      _id: hashOpaqueToken(token),
      userId: new Types.ObjectId(userId),
      attempts: 0,
      expiresAt,
    });
    return new SecondFactorRequiredError(
      token,
      [SecondFactorMethod.TOTP, SecondFactorMethod.RECOVERY_CODE],
      expiresAt,
    );
  }

  /**
   * Counts one attempt at the challenge; null when it is unknown, used, expired or out of
   * attempts (then the sign-in starts again with the password).
   */
  async attempt(token: string): Promise<ChallengeAttempt | null> {
    const counted = await updateByIdIf(
      this.models.SecondFactorChallenge,
      hashOpaqueToken(token),
      { attempts: { atMost: MAX_CHALLENGE_ATTEMPTS - 1 } },
      { $inc: { attempts: 1 } },
    );
    if (!counted || counted.expiresAt.getTime() <= Date.now()) return null;
    return {
      userId: String(counted.userId),
      attemptsLeft: MAX_CHALLENGE_ATTEMPTS - counted.attempts,
    };
  }

  /** Spends the challenge: true for the one caller whose delete found it. */
  async spend(token: string): Promise<boolean> {
    const spent = await this.models.SecondFactorChallenge.findOneAndDelete({
      _id: hashOpaqueToken(token),
    }).lean();
    return spent !== null;
  }

  async sweepExpired(): Promise<void> {
    await this.models.SecondFactorChallenge.deleteMany({ expiresAt: op({ $lte: new Date() }) });
  }

  async deleteAll(userId: string): Promise<void> {
    await this.models.SecondFactorChallenge.deleteMany({ userId: new Types.ObjectId(userId) });
  }
}
