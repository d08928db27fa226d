import type { Models } from '../models';
import { InvalidCredentialsError, NotFoundError } from '../../errors/errors';
import type { RateLimits } from '../../rate-limit/rate-limits';
import type { PasswordHasher } from './password-hasher';
import type { SessionService } from './session.service';

/**
 * The auth side of deleting an account: the password is asked again (a stolen access token
 * alone cannot delete anyone), failures count like failed sign-ins, and every session and
 * email token of the account ends before its data goes.
 */
export class AccountClosure {
  constructor(
    private readonly models: Models,
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

  /** Every email token goes, then every session ends (its sockets close on every instance). */
  async signOutEverywhere(userId: string): Promise<void> {
    await this.models.EmailToken.deleteMany({ userId });
    await this.sessions.endAll(userId);
  }
}
