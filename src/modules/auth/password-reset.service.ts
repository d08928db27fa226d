/**
 * Forgotten passwords. Protects against enumeration (the same answer at once for any address;
 * the lookup and mail run in the background) and against a leaked reset link outliving its
 * use (single use, short expiry, and every session ends when it is used).
 */
import type { Config } from '../../config/config';
import type { UserModel } from '../users/user.model';
import { InvalidTokenError } from '../../errors/errors';
import type { MailOutbox } from '../../mail/outbox';
import { passwordChangedMail, passwordResetMail } from '../../mail/templates';
import type { RateLimits } from '../../rate-limit/rate-limits';
import type { ResetPasswordInput } from './auth.inputs';
import { EmailTokenPurpose } from './email-token.model';
import type { EmailTokens } from './email-tokens';
import { mailAccountInBackground } from './mail-limits';
import type { PasswordHasher } from './password-hasher';
import type { RequestMeta } from '../../graphql/request-meta';
import type { SessionService } from './session.service';

export class PasswordResetService {
  constructor(
    private readonly models: { User: UserModel },
    private readonly tokens: EmailTokens,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly outbox: MailOutbox,
    private readonly rateLimits: RateLimits,
    private readonly config: Pick<Config, 'appUrl' | 'auth'>,
  ) {}

  private get mailing() {
    return { models: this.models, rateLimits: this.rateLimits, outbox: this.outbox };
  }

  requestReset(email: string, meta: RequestMeta): Promise<true> {
    return mailAccountInBackground(this.mailing, 'reset', email, meta, async (account) => {
      const ttl = this.config.auth.passwordResetTokenTtlSeconds;
      const token = await this.tokens.issue(
        String(account._id),
        EmailTokenPurpose.RESET_PASSWORD,
        ttl,
      );
      const url = `${this.config.appUrl}/reset-password?token=${token}`;
      return passwordResetMail(account, url, Math.round(ttl / 60));
    });
  }

  async reset(input: ResetPasswordInput): Promise<true> {
    // Consume first: of concurrent calls with one token, only one gets past this line.
    const userId = await this.tokens.consume(input.token, EmailTokenPurpose.RESET_PASSWORD);
    if (!userId) throw new InvalidTokenError();
    const passwordHash = await this.hasher.hash(input.newPassword);
    // The link arrived in the inbox, which proves the address as well as a verification link.
    const user = await this.models.User.findOneAndUpdate(
      { _id: userId },
      { $set: { passwordHash, emailVerified: true } },
      { returnDocument: 'after' },
    ).lean();
    if (!user) throw new InvalidTokenError();
    await this.sessions.endAll(userId);
    this.outbox.enqueue(async () => passwordChangedMail(user));
    return true;
  }
}
