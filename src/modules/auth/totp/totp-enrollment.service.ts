/**
 * Turning two-step sign-in on. The password is asked first; the new secret waits, sealed, until
 * a first code from the app proves the user holds it (a mistyped QR scan cannot lock anyone
 * out). Only then is it the account's, with 10 new recovery codes shown once.
 */
import { updateByIdIf } from '../../../db/by-id';
import { BadUserInputError, ConflictError, NotFoundError } from '../../../errors/errors';
import type { Viewer } from '../../../graphql/context';
import type { RequestMeta } from '../../../graphql/request-meta';
import type { MailOutbox } from '../../../mail/outbox';
import { newSignInFactorMail } from '../../../mail/templates';
import type { UserModel } from '../../users/user.model';
import type { PasswordConfirmation } from '../password-confirmation';
import { SecurityEventKind } from '../security-events/security-event.model';
import type { SecurityEvents } from '../security-events/security-events';
import type { RecoveryCodes } from './recovery-codes';
import type { SecondFactorCheck } from './second-factor-check';
import type { SecretBox } from './secret-box';
import { newTotpSecret, otpauthUrlOf } from './totp-codes';
import type { TotpEnrollment } from './totp.types';

export class TotpEnrollmentService {
  constructor(
    private readonly models: { User: UserModel },
    private readonly password: PasswordConfirmation,
    private readonly secrets: SecretBox,
    private readonly check: SecondFactorCheck,
    private readonly recoveryCodes: RecoveryCodes,
    private readonly events: SecurityEvents,
    private readonly outbox: MailOutbox,
  ) {}

  async start(viewer: Viewer, password: string): Promise<TotpEnrollment> {
    const user = await this.password.confirm(viewer.userId, password);
    if (user.totpSecret) throw new ConflictError('Two-step sign-in is already on.');
    const secret = newTotpSecret();
    await this.models.User.updateOne(
      { _id: viewer.userId },
      { $set: { totpPendingSecret: this.secrets.seal(viewer.userId, secret) } },
    );
    return { secret, otpauthUrl: otpauthUrlOf(secret, user.email) };
  }

  async confirm(viewer: Viewer, code: string, meta: RequestMeta): Promise<string[]> {
    const { userId } = viewer;
    const user = await this.models.User.findById(userId).lean();
    if (!user) throw new NotFoundError('User');
    if (user.totpSecret) throw new ConflictError('Two-step sign-in is already on.');
    const pending = user.totpPendingSecret;
    if (!pending) {
      throw new BadUserInputError({ code: 'Start the enrollment first (startTotpEnrollment).' });
    }
    const step = await this.check.checkPending(userId, pending, code.trim());
    if (step === null) throw new BadUserInputError({ code: 'The code is incorrect.' });
    // Applies only to the secret this code was checked against: a restarted enrollment wins.
    const enabled = await updateByIdIf(
      this.models.User,
      userId,
      { totpPendingSecret: pending },
      { $set: { totpSecret: pending, totpLastStep: step }, $unset: { totpPendingSecret: 1 } },
    );
    if (!enabled) throw new ConflictError('The enrollment changed meanwhile; start again.');
    const codes = await this.recoveryCodes.replace(userId);
    await this.events.record(userId, SecurityEventKind.TWO_FACTOR_ENABLED, meta);
    this.outbox.enqueue(async () => newSignInFactorMail(user, 'An authenticator app'));
    return codes;
  }
}
