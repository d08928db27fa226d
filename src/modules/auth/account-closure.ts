import type { UserModel } from '../users/user.model';
import type { EmailTokenModel } from './email-token.model';
import type { IdentityLinkModel } from './oidc/identity-link.model';
import type { SecurityEventModel } from './security-events/security-event.model';
import type { PasskeyModel } from './passkeys/passkey.model';
import type { RecoveryCodeModel } from './totp/recovery-code.model';
import type { SecondFactorChallengeModel } from './totp/second-factor-challenge.model';
import { InvalidCredentialsError, NotFoundError, UnauthenticatedError } from '../../errors/errors';
import type { RateLimits } from '../../rate-limit/rate-limits';
import type { PasswordHasher } from './password-hasher';
import type { SessionService } from './session.service';

/**
 * The auth side of deleting an account: the password is asked again (a stolen access token
 * alone cannot delete anyone), failures count like failed sign-ins. Then the account is marked
 * closing and every other session ends before its data goes, so no other device starts new
 * work; a write already under way checks `assertOpen` after it lands and takes itself back.
 */
export class AccountClosure {
  constructor(
    private readonly models: {
      User: UserModel;
      EmailToken: EmailTokenModel;
      RecoveryCode: RecoveryCodeModel;
      SecondFactorChallenge: SecondFactorChallengeModel;
      IdentityLink: IdentityLinkModel;
      SecurityEvent: SecurityEventModel;
      Passkey: PasskeyModel;
    },
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly rateLimits: RateLimits,
  ) {}

  async confirmPassword(userId: string, password: string): Promise<void> {
    const user = await this.models.User.findById(userId, { email: 1, passwordHash: 1 }).lean();
    if (!user) throw new NotFoundError('User');
    // Counted first and refunded when right, as at sign-in (see LoginService).
    await this.rateLimits.consume('loginFailuresPerEmail', user.email);
    if (!(await this.hasher.verify(user.passwordHash, password))) {
      throw new InvalidCredentialsError();
    }
    await this.rateLimits.refund('loginFailuresPerEmail', user.email);
  }

  /**
   * No sign-in from now on (LoginService, SessionService.create), and every session but the
   * caller's ends (it carries the answer). Email tokens go in `signOutEverywhere`, after the
   * user: that one delete also takes any issued meanwhile.
   */
  async beginClosing(userId: string, callerSessionId: string): Promise<void> {
    await this.models.User.updateOne({ _id: userId }, { $set: { closingAt: new Date() } });
    await this.sessions.endAll(userId, callerSessionId);
  }

  /** A deletion that failed part way leaves the account usable, to try again. */
  async abortClosing(userId: string): Promise<void> {
    await this.models.User.updateOne({ _id: userId }, { $unset: { closingAt: 1 } });
  }

  /** Every session ends, the caller's too (its sockets close on every instance). */
  async signOutEverywhere(userId: string): Promise<void> {
    // The account's ways in go with it: an identity link left behind would sign nobody in,
    // but would keep the provider's identity from making a new account.
    await Promise.all([
      this.models.EmailToken.deleteMany({ userId }),
      this.models.RecoveryCode.deleteMany({ userId }),
      this.models.SecondFactorChallenge.deleteMany({ userId }),
      this.models.IdentityLink.deleteMany({ userId }),
      this.models.SecurityEvent.deleteMany({ userId }),
      this.models.Passkey.deleteMany({ userId }),
    ]);
    await this.sessions.endAll(userId);
  }

  /**
   * For a feature that has just written data of the user: refuses (SESSION_ENDED) when the
   * account is closing or gone, so the feature removes what it wrote. Asked after the write:
   * either the deletion's erase comes later and removes it, or this sees the mark.
   */
  async assertOpen(userId: string): Promise<void> {
    const user = await this.models.User.findById(userId, { closingAt: 1 }).lean();
    if (!user || user.closingAt) throw new UnauthenticatedError('sessionEnded');
  }
}
