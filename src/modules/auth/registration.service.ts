import { mongo } from 'mongoose';
import type { UserModel } from '../users/user.model';
import { ConflictError } from '../../errors/errors';
import type { RateLimits } from '../../rate-limit/rate-limits';
import type { AuthPayload } from './auth-payload.type';
import type { SignInService } from './sign-in.service';
import { normalizeEmail, type RegisterInput } from './auth.inputs';
import type { EmailVerificationService } from './email-verification.service';
import type { PasswordHasher } from './password-hasher';
import type { RequestMeta } from '../../graphql/request-meta';
import { mailLimitKey } from './mail-limits';

const DUPLICATE_KEY = 11000;

/** Creates an account, signs it in, and mails the verification link. */
export class RegistrationService {
  constructor(
    private readonly models: { User: UserModel },
    private readonly hasher: PasswordHasher,
    private readonly signIns: SignInService,
    private readonly verification: EmailVerificationService,
    private readonly rateLimits: RateLimits,
  ) {}

  async register(input: RegisterInput, meta: RequestMeta): Promise<AuthPayload> {
    await this.rateLimits.consume('registrationsPerIp', meta.ip);
    const email = normalizeEmail(input.email);
    if (await this.models.User.exists({ email })) throw emailTaken();

    const passwordHash = await this.hasher.hash(input.password);
    let user;
    try {
      user = await this.models.User.create({
        email,
        passwordHash,
        firstName: input.firstName.trim(),
        lastName: input.lastName.trim(),
        emailVerified: false,
        metadata: {},
      });
    } catch (error) {
      // The unique index settles two registrations of one address racing each other.
      if (error instanceof mongo.MongoServerError && error.code === DUPLICATE_KEY)
        throw emailTaken();
      throw error;
    }
    const record = user.toObject();
    // The sign-up mail counts against the address's verification-mail limit like a resend.
    const key = mailLimitKey('verification', email);
    await this.rateLimits.penalize('mailPerAddressPerMinute', key);
    await this.rateLimits.penalize('mailPerAddressPerHour', key);
    this.verification.sendFor(record);
    return this.signIns.signIn(record, meta);
  }
}

function emailTaken(): ConflictError {
  return new ConflictError('An account with this email address already exists.', {
    email: 'An account with this email address already exists.',
  });
}
