import type { Config } from '../../config/config';
import type { UserModel } from '../users/user.model';
import { EmailNotVerifiedError } from '../../errors/errors';

/**
 * With REQUIRE_EMAIL_VERIFICATION=true, features that cost money or can be abused (chat) ask
 * for a verified address first; otherwise it lets everyone through without a query.
 */
export class EmailVerifiedGuard {
  constructor(
    private readonly models: { User: UserModel },
    private readonly config: Pick<Config['auth'], 'requireEmailVerification'>,
  ) {}

  async assertVerified(userId: string): Promise<void> {
    if (!this.config.requireEmailVerification) return;
    const user = await this.models.User.findById(userId, { emailVerified: 1 }).lean();
    if (!user?.emailVerified) throw new EmailNotVerifiedError();
  }
}
