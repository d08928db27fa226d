import type { Config } from '../../config/config';
import { InvalidTokenError } from '../../errors/errors';
import type { MailOutbox } from '../../mail/outbox';
import { verificationMail } from '../../mail/templates';
import type { RateLimits } from '../../rate-limit/rate-limits';
import type { UserRecord, UserModel } from '../users/user.model';
import { EmailTokenPurpose } from './email-token.model';
import type { EmailTokens } from './email-tokens';
import { mailAccountInBackground } from './mail-limits';
import type { RequestMeta } from '../../graphql/request-meta';

/** Email verification: the mail with its link, the link's use, and resending. */
export class EmailVerificationService {
  constructor(
    private readonly models: { User: UserModel },
    private readonly tokens: EmailTokens,
    private readonly outbox: MailOutbox,
    private readonly rateLimits: RateLimits,
    private readonly config: Pick<Config, 'appUrl' | 'auth'>,
  ) {}

  private get mailing() {
    return { models: this.models, rateLimits: this.rateLimits, outbox: this.outbox };
  }

  /** Queues a verification mail for a user who just registered. */
  sendFor(user: Pick<UserRecord, '_id' | 'email' | 'firstName'>): void {
    this.outbox.enqueue(() => this.compose(user));
  }

  async verify(token: string): Promise<UserRecord> {
    const userId = await this.tokens.consume(token, EmailTokenPurpose.VERIFY_EMAIL);
    if (!userId) throw new InvalidTokenError();
    const user = await this.models.User.findOneAndUpdate(
      { _id: userId },
      { $set: { emailVerified: true } },
      { returnDocument: 'after' },
    ).lean();
    if (!user) throw new InvalidTokenError();
    return user;
  }

  /** Answers the same for any address, at once (see mailAccountInBackground). */
  resend(email: string, meta: RequestMeta): Promise<true> {
    return mailAccountInBackground(this.mailing, 'verification', email, meta, async (account) =>
      account.emailVerified ? null : this.compose(account),
    );
  }

  private async compose(user: Pick<UserRecord, '_id' | 'email' | 'firstName'>) {
    const ttl = this.config.auth.verificationTokenTtlSeconds;
    const token = await this.tokens.issue(String(user._id), EmailTokenPurpose.VERIFY_EMAIL, ttl);
    const url = `${this.config.appUrl}/verify-email?token=${token}`;
    return verificationMail(user, url, Math.round(ttl / 3600));
  }
}
