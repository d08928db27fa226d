import { InvalidCredentialsError, NotFoundError } from '../../errors/errors';
import type { RateLimits } from '../../rate-limit/rate-limits';
import type { UserModel, UserRecord } from '../users/user.model';
import type { PasswordHasher } from './password-hasher';

/**
 * The password asked again before a change to the account's ways in (a stolen access token
 * alone cannot add or remove a factor). Failures count like failed sign-ins.
 */
export class PasswordConfirmation {
  constructor(
    private readonly models: { User: UserModel },
    private readonly hasher: PasswordHasher,
    private readonly rateLimits: RateLimits,
  ) {}

  /** The user as read before the check; INVALID_CREDENTIALS for a wrong password. */
  async confirm(userId: string, password: string): Promise<UserRecord> {
    const user = await this.models.User.findById(userId).lean();
    if (!user) throw new NotFoundError('User');
    // Counted first and refunded when right, as at sign-in (see LoginService).
    await this.rateLimits.consume('loginFailuresPerEmail', user.email);
    if (!(await this.hasher.verify(user.passwordHash, password))) {
      throw new InvalidCredentialsError();
    }
    await this.rateLimits.refund('loginFailuresPerEmail', user.email);
    return user;
  }
}
