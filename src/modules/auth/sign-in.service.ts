import { InvalidCredentialsError } from '../../errors/errors';
import type { UserRecord } from '../users/user.model';
import { toUser } from '../users/user.type';
import type { AccessTokens } from './access-token';
import type { AuthPayload } from './auth-payload.type';
import type { RequestMeta } from '../../graphql/request-meta';
import type { IssuedSession, SessionService } from './session.service';

/** Signs a user in: a new session and its token pair. */
export class SignInService {
  constructor(
    private readonly sessions: SessionService,
    private readonly accessTokens: AccessTokens,
  ) {}

  /**
   * `user` as the sign-in read it, before checking the password: if every session of the user
   * ended since (a password change, reset, sign-out everywhere, deletion), the sign-in fails
   * with INVALID_CREDENTIALS instead of outliving it.
   */
  async signIn(user: UserRecord, meta: RequestMeta): Promise<AuthPayload> {
    const session = await this.sessions.create(String(user._id), meta, user.sessionEpoch ?? 0);
    if (!session) throw new InvalidCredentialsError();
    return this.forSession(user, session);
  }

  forSession(user: UserRecord, session: IssuedSession): AuthPayload {
    const access = this.accessTokens.issue(String(user._id), session.sessionId);
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken: session.refreshToken,
      user: toUser(user),
    };
  }
}
