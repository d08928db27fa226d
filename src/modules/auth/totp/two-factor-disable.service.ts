/**
 * Turning two-step sign-in off. Needs the password and a code (TOTP or recovery), so neither a
 * stolen access token nor a stolen password alone can remove the factor; every other session
 * ends, as after a password change, and the user is mailed.
 */
import { updateByIdIf } from '../../../db/by-id';
import { AppError, ConflictError } from '../../../errors/errors';
import { ErrorCode } from '../../../errors/error-codes';
import type { Viewer } from '../../../graphql/context';
import type { RequestMeta } from '../../../graphql/request-meta';
import type { MailOutbox } from '../../../mail/outbox';
import { twoFactorDisabledMail } from '../../../mail/templates';
import type { UserModel, UserRecord } from '../../users/user.model';
import type { PasswordConfirmation } from '../password-confirmation';
import { SecurityEventKind } from '../security-events/security-event.model';
import type { SecurityEvents } from '../security-events/security-events';
import type { SessionService } from '../session.service';
import type { RecoveryCodes } from './recovery-codes';
import type { SecondFactorChallenges } from './second-factor-challenges';
import type { SecondFactorCheck } from './second-factor-check';

/** Six digits is a TOTP code; anything else is tried as a recovery code. */
const TOTP_CODE = /^\s*\d{6}\s*$/;

export class TwoFactorDisableService {
  constructor(
    private readonly models: { User: UserModel },
    private readonly password: PasswordConfirmation,
    private readonly check: SecondFactorCheck,
    private readonly recoveryCodes: RecoveryCodes,
    private readonly challenges: SecondFactorChallenges,
    private readonly sessions: SessionService,
    private readonly events: SecurityEvents,
    private readonly outbox: MailOutbox,
  ) {}

  async disable(
    viewer: Viewer,
    password: string,
    code: string,
    meta: RequestMeta,
  ): Promise<UserRecord> {
    const { userId } = viewer;
    const user = await this.password.confirm(userId, password);
    if (!user.totpSecret) throw new ConflictError('Two-step sign-in is not on.');
    const outcome = await this.check.check(
      user,
      TOTP_CODE.test(code) ? { totpCode: code } : { recoveryCode: code },
    );
    if (!outcome) throw new AppError(ErrorCode.INVALID_CREDENTIALS, 'The code is incorrect.');
    const updated = await updateByIdIf(
      this.models.User,
      userId,
      { totpSecret: user.totpSecret },
      { $unset: { totpSecret: 1, totpPendingSecret: 1, totpLastStep: 1 } },
    );
    if (!updated) throw new ConflictError('Two-step sign-in changed meanwhile; try again.');
    await this.recoveryCodes.deleteAll(userId);
    await this.challenges.deleteAll(userId);
    await this.sessions.endAll(userId, viewer.sessionId);
    await this.events.record(userId, SecurityEventKind.TWO_FACTOR_DISABLED, meta);
    this.outbox.enqueue(async () => twoFactorDisabledMail(user));
    return updated;
  }
}
