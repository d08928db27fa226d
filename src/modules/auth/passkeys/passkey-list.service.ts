/**
 * A user's passkeys, and removing one. Another user's passkey is NOT_FOUND (the delete is
 * conditional on the owner), and the last way into an account (no password, no identity) is
 * not removed.
 */
import { Types } from 'mongoose';
import { AppError, NotFoundError } from '../../../errors/errors';
import { ErrorCode } from '../../../errors/error-codes';
import type { Viewer } from '../../../graphql/context';
import type { RequestMeta } from '../../../graphql/request-meta';
import type { UserModel } from '../../users/user.model';
import { SecurityEventKind } from '../security-events/security-event.model';
import type { SecurityEvents } from '../security-events/security-events';
import type { PasskeyModel } from './passkey.model';
import { toPasskey, type Passkey } from './passkey.type';

export class PasskeyListService {
  constructor(
    private readonly models: { User: UserModel; Passkey: PasskeyModel },
    private readonly events: SecurityEvents,
  ) {}

  async list(viewer: Viewer): Promise<Passkey[]> {
    const records = await this.models.Passkey.find({
      userId: new Types.ObjectId(viewer.userId),
    })
      .sort({ createdAt: 1 })
      .lean();
    return records.map(toPasskey);
  }

  async remove(viewer: Viewer, id: string, meta: RequestMeta): Promise<true> {
    const passkey = await this.models.Passkey.findById(id).lean();
    if (!passkey || String(passkey.userId) !== viewer.userId) throw new NotFoundError('Passkey');
    const user = await this.models.User.findById(viewer.userId).lean();
    const others = await this.models.Passkey.countDocuments({
      userId: new Types.ObjectId(viewer.userId),
    });
    if (!user?.passwordHash && (user?.identities ?? []).length === 0 && others <= 1) {
      throw new AppError(
        ErrorCode.CONFLICT,
        'This is the only way to sign in to the account: add another first.',
        { reason: 'LAST_WAY_IN' },
      );
    }
    await this.models.Passkey.deleteOne({ _id: id });
    await this.events.record(viewer.userId, SecurityEventKind.PASSKEY_REMOVED, meta);
    return true;
  }
}
