import type { UserModel } from '../users/user.model';
import { InvalidTokenError, UnreachableCaseError } from '../../errors/errors';
import type { AuthPayload } from './auth-payload.type';
import type { SignInService } from './sign-in.service';
import type { RequestMeta } from '../../graphql/request-meta';
import type { SessionService } from './session.service';

/** Swaps a refresh token for a new pair; a replayed token ends its session. */
export class TokenRefreshService {
  constructor(
    private readonly models: { User: UserModel },
    private readonly sessions: SessionService,
    private readonly signIns: SignInService,
  ) {}

  async refresh(refreshToken: string, meta: RequestMeta): Promise<AuthPayload> {
    const outcome = await this.sessions.rotate(refreshToken, meta);
    switch (outcome.kind) {
      case 'invalid':
        throw new InvalidTokenError('refreshInvalid');
      case 'reused':
        throw new InvalidTokenError('refreshReused');
      case 'rotated': {
        const user = await this.models.User.findById(outcome.userId).lean();
        if (!user) throw new InvalidTokenError('refreshInvalid');
        return this.signIns.forSession(user, outcome.session);
      }
      default:
        throw new UnreachableCaseError(outcome);
    }
  }
}
