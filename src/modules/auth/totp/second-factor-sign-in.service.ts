/**
 * Finishing a sign-in that answered SECOND_FACTOR_REQUIRED. Protects against guessing through
 * a challenge (5 codes), through the account (10 a quarter of an hour, SecondFactorCheck), and
 * against one challenge yielding two sessions (spent by one delete).
 */
import { AppError, BadUserInputError, InvalidTokenError } from '../../../errors/errors';
import { ErrorCode } from '../../../errors/error-codes';
import type { RequestMeta } from '../../../graphql/request-meta';
import type { UserModel } from '../../users/user.model';
import type { AuthPayload } from '../auth-payload.type';
import { SecurityEventKind } from '../security-events/security-event.model';
import type { SecurityEvents } from '../security-events/security-events';
import type { SignInService } from '../sign-in.service';
import type { SecondFactorChallenges } from './second-factor-challenges';
import type { SecondFactorCheck } from './second-factor-check';
import type { SecondFactorInput } from './totp.inputs';

export class SecondFactorSignInService {
  constructor(
    private readonly models: { User: UserModel },
    private readonly challenges: SecondFactorChallenges,
    private readonly check: SecondFactorCheck,
    private readonly signIns: SignInService,
    private readonly events: SecurityEvents,
  ) {}

  async verify(input: SecondFactorInput, meta: RequestMeta): Promise<AuthPayload> {
    if (!input.totpCode === !input.recoveryCode) {
      throw new BadUserInputError({ totpCode: 'Send either totpCode or recoveryCode.' });
    }
    const attempt = await this.challenges.attempt(input.challenge);
    if (!attempt) throw new InvalidTokenError();
    const user = await this.models.User.findById(attempt.userId).lean();
    if (!user || user.closingAt || !user.totpSecret) throw new InvalidTokenError();

    const outcome = await this.check.check(user, input);
    if (!outcome) {
      await this.events.record(attempt.userId, SecurityEventKind.SECOND_FACTOR_FAILED, meta);
      throw new AppError(ErrorCode.INVALID_CREDENTIALS, 'The code is incorrect.', {
        attemptsLeft: attempt.attemptsLeft,
      });
    }
    // Two right codes sent together (a TOTP and a recovery code): one session, not two.
    if (!(await this.challenges.spend(input.challenge))) throw new InvalidTokenError();
    if (outcome === 'recovery') {
      await this.events.record(attempt.userId, SecurityEventKind.RECOVERY_CODE_USED, meta);
    }
    await this.events.record(attempt.userId, SecurityEventKind.SIGNED_IN_WITH_SECOND_FACTOR, meta, {
      method: outcome === 'totp' ? 'TOTP' : 'RECOVERY_CODE',
    });
    return this.signIns.signIn(user, meta);
  }
}
