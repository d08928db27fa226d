import type { Config } from '../../config/config';
import type { Models } from '../models';
import { InvalidTokenError } from '../../errors/errors';
import type { MailOutbox } from '../../mail/outbox';
import { verificationMail } from '../../mail/templates';
import type { RateLimits } from '../../rate-limit/rate-limits';
import type { UserRecord } from '../users/user.model';
import { parseEmailArgument } from './auth.inputs';
import { EmailTokenPurpose } from './email-token.model';
import type { EmailTokens } from './email-tokens';
import { mailAddressInBackground } from './mail-limits';
import type { RequestMeta } from '../../kernel/request-meta';

/** Email verification: the mail with its link, the link's use, and resending. */
export class EmailVerificationService {
  constructor(
    private readonly models: Models,
    private readonly tokens: EmailTokens,
    private readonly outbox: MailOutbox,
    private readonly rateLimits: RateLimits,
    private readonly config: Pick<Config, 'appUrl' | 'auth'>,
  ) {}

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

  /** Answers the same for any address, at once (see mailAddressInBackground). */
  resend(email: string, meta: RequestMeta): Promise<true> {
    const address = parseEmailArgument(email);
    return mailAddressInBackground(
      { rateLimits: this.rateLimits, outbox: this.outbox },
      address,
      meta,
      async () => {
        const user = await this.models.User.findOne(
          { email: address },
          { email: 1, firstName: 1, emailVerified: 1 },
        ).lean();
        if (!user || user.emailVerified) return null;
        return this.compose(user);
      },
    );
  }

  private async compose(user: Pick<UserRecord, '_id' | 'email' | 'firstName'>) {
    const ttl = this.config.auth.verificationTokenTtlSeconds;
    const token = await this.tokens.issue(String(user._id), EmailTokenPurpose.VERIFY_EMAIL, ttl);
    const url = `${this.config.appUrl}/verify-email?token=${token}`;
    return verificationMail(user, url, Math.round(ttl / 3600));
  }
}
