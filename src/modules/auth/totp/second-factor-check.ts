/**
 * Checks a second-factor code for an account. Protects against guessing (10 wrong codes a
 * quarter of an hour per account, counted before the check and refunded when right, so a
 * burst of concurrent guesses is bounded too) and replay (a TOTP code's time step is recorded
 * by a conditional write: a code of that step or earlier, or a concurrent second use of the
 * same code, is refused; a recovery code is spent by deleting it).
 */
import { updateByIdIf } from '../../../db/by-id';
import type { RateLimits } from '../../../rate-limit/rate-limits';
import type { UserModel, UserRecord } from '../../users/user.model';
import type { RecoveryCodes } from './recovery-codes';
import type { SecretBox } from './secret-box';
import { verifyTotpCode } from './totp-codes';

export interface SecondFactorCode {
  totpCode?: string | null;
  recoveryCode?: string | null;
}

/** Which kind of code was right, or null for a wrong (or reused) one. */
export type SecondFactorOutcome = 'totp' | 'recovery' | null;

export type TotpHolder = Pick<UserRecord, '_id' | 'totpSecret' | 'totpLastStep'>;

export class SecondFactorCheck {
  constructor(
    private readonly models: { User: UserModel },
    private readonly secrets: SecretBox,
    private readonly recoveryCodes: RecoveryCodes,
    private readonly rateLimits: RateLimits,
  ) {}

  /** Throws RATE_LIMITED when the account is out of attempts, right code or not. */
  async check(user: TotpHolder, code: SecondFactorCode): Promise<SecondFactorOutcome> {
    const userId = String(user._id);
    await this.rateLimits.consume('secondFactorFailuresPerUser', userId);
    const outcome = await this.evaluate(user, code);
    if (outcome) await this.rateLimits.refund('secondFactorFailuresPerUser', userId);
    return outcome;
  }

  /** A TOTP code against a secret not yet confirmed (enrollment); records its step. */
  async checkPending(userId: string, sealedSecret: string, code: string): Promise<number | null> {
    await this.rateLimits.consume('secondFactorFailuresPerUser', userId);
    const step = await verifyTotpCode(this.secrets.open(userId, sealedSecret), code, 0);
    if (step !== null) await this.rateLimits.refund('secondFactorFailuresPerUser', userId);
    return step;
  }

  private async evaluate(user: TotpHolder, code: SecondFactorCode): Promise<SecondFactorOutcome> {
    const userId = String(user._id);
    if (!user.totpSecret) return null;
    if (code.totpCode) {
      const secret = this.secrets.open(userId, user.totpSecret);
      const step = await verifyTotpCode(secret, code.totpCode.trim(), user.totpLastStep ?? 0);
      if (step === null) return null;
      // Only the first use of a step gets past this write, even when two arrive together.
      const recorded = await updateByIdIf(
        this.models.User,
        userId,
        { totpLastStep: { atMost: step - 1 } },
        { $set: { totpLastStep: step } },
        { timestamps: false },
      );
      return recorded ? 'totp' : null;
    }
    if (code.recoveryCode) {
      return (await this.recoveryCodes.use(userId, code.recoveryCode)) ? 'recovery' : null;
    }
    return null;
  }
}
