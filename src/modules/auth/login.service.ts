/**
 * Sign-in. Protects against account enumeration (an unknown address costs the same argon2
 * work and gets the same INVALID_CREDENTIALS as a wrong password) and password guessing
 * (failures are limited per address and per client address).
 */
import type { UserModel } from '../users/user.model';
import { InvalidCredentialsError } from '../../errors/errors';
import type { RateLimits } from '../../rate-limit/rate-limits';
import type { AuthPayload } from './auth-payload.type';
import type { SignInService } from './sign-in.service';
import { normalizeEmail, type LoginInput } from './auth.inputs';
import type { PasswordHasher } from './password-hasher';
import type { RequestMeta } from '../../graphql/request-meta';
import type { SecondFactorChallenges } from './totp/second-factor-challenges';

export class LoginService {
  constructor(
    private readonly models: { User: UserModel },
    private readonly hasher: PasswordHasher,
    private readonly signIns: SignInService,
    private readonly rateLimits: RateLimits,
    private readonly challenges: SecondFactorChallenges,
  ) {}

  async login(input: LoginInput, meta: RequestMeta): Promise<AuthPayload> {
    const email = normalizeEmail(input.email);
    // Counted before the password is checked, refunded if it is right: a burst of concurrent
    // guesses cannot all pass a check made before any of them was counted.
    await this.rateLimits.consume('loginFailuresPerIp', meta.ip);
    await this.rateLimits.consume('loginFailuresPerEmail', email);

    const user = await this.models.User.findOne({ email }).lean();
    const valid = await this.hasher.verify(user?.passwordHash ?? null, input.password);
    // An account being deleted takes no sign-in (it answers as if it were gone already).
    if (!user || user.closingAt || !valid) throw new InvalidCredentialsError();
    await this.rateLimits.refund('loginFailuresPerIp', meta.ip);
    await this.rateLimits.reset('loginFailuresPerEmail', email);
    // With two-step sign-in on, the right password only earns a challenge (verifySecondFactor).
    if (user.totpSecret) throw await this.challenges.challenge(String(user._id));
    return this.signIns.signIn(user, meta);
  }
}
