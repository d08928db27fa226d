/**
 * Removing a single sign-on identity. Protects against locking a user out: an account keeps at
 * least one way in (a password, another identity or a passkey).
 */
import { AppError, NotFoundError } from '../../../errors/errors';
import { ErrorCode } from '../../../errors/error-codes';
import type { Viewer } from '../../../graphql/context';
import type { RequestMeta } from '../../../graphql/request-meta';
import type { UserModel, UserRecord } from '../../users/user.model';
import { SecurityEventKind } from '../security-events/security-event.model';
import type { SecurityEvents } from '../security-events/security-events';
import type { PasskeyModel } from '../passkeys/passkey.model';
import { identityLinkIdOf, type IdentityLinkModel } from './identity-link.model';

export class IdentityUnlinkService {
  constructor(
    private readonly models: {
      User: UserModel;
      IdentityLink: IdentityLinkModel;
      Passkey: PasskeyModel;
    },
    private readonly events: SecurityEvents,
  ) {}

  async unlink(viewer: Viewer, provider: string, meta: RequestMeta): Promise<UserRecord> {
    const user = await this.models.User.findById(viewer.userId).lean();
    const identity = user?.identities?.find((entry) => entry.provider === provider);
    if (!user || !identity) throw new NotFoundError('Linked identity');
    const others = (user.identities ?? []).filter((entry) => entry !== identity);
    const passkeys = await this.models.Passkey.countDocuments({ userId: user._id });
    if (!user.passwordHash && others.length === 0 && passkeys === 0) {
      throw new AppError(
        ErrorCode.CONFLICT,
        'This is the only way to sign in to the account: set a password first.',
        { reason: 'LAST_WAY_IN' },
      );
    }
    const updated = await this.models.User.findOneAndUpdate(
      { _id: user._id },
      // The list as read, less this one ($pull by a condition is not in FerretDB 1.24).
      { $set: { identities: others } },
      { returnDocument: 'after' },
    ).lean();
    await this.models.IdentityLink.deleteOne({
      _id: identityLinkIdOf(provider, identity.subject),
    });
    await this.events.record(viewer.userId, SecurityEventKind.IDENTITY_UNLINKED, meta, {
      provider,
    });
    return updated ?? user;
  }
}
