import type { UserModel } from '../users/user.model';
import { BadUserInputError, InvalidCredentialsError, NotFoundError } from '../../errors/errors';
import type { Viewer } from '../../graphql/context';
import type { MailOutbox } from '../../mail/outbox';
import { passwordChangedMail } from '../../mail/templates';
import type { RateLimits } from '../../rate-limit/rate-limits';
import type { ChangePasswordInput } from './auth.inputs';
import type { PasswordHasher } from './password-hasher';
import type { SessionService } from './session.service';

/**
 * A signed-in password change. The current password is required (a stolen access token alone
 * cannot take the account over), failures count like failed sign-ins, and every other session
 * ends so that whoever else was signed in is out.
 */
export class PasswordChangeService {
  constructor(
    private readonly models: { User: UserModel },
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly outbox: MailOutbox,
    private readonly rateLimits: RateLimits,
  ) {}

  async change(viewer: Viewer, input: ChangePasswordInput): Promise<true> {
    const user = await this.models.User.findById(viewer.userId, {
      email: 1,
      firstName: 1,
      passwordHash: 1,
    }).lean();
    if (!user) throw new NotFoundError('User');
    // Counted first and refunded when right, as at sign-in (see LoginService).
    await this.rateLimits.consume('loginFailuresPerEmail', user.email);
    if (!(await this.hasher.verify(user.passwordHash, input.currentPassword))) {
      throw new InvalidCredentialsError();
    }
    await this.rateLimits.refund('loginFailuresPerEmail', user.email);
    if (input.newPassword === input.currentPassword) {
      throw new BadUserInputError({
        newPassword: 'Choose a password different from the current one.',
      });
    }
    const passwordHash = await this.hasher.hash(input.newPassword);
    await this.models.User.updateOne({ _id: viewer.userId }, { $set: { passwordHash } });
    await this.sessions.endAll(viewer.userId, viewer.sessionId);
    this.outbox.enqueue(async () => passwordChangedMail(user));
    return true;
  }
}
