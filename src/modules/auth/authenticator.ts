import type { Authenticate, Authentication } from '../../graphql/context';
import type { AuthRefusal } from '../../errors/error-codes';
import { UnauthenticatedError } from '../../errors/errors';
import type { AccessTokens } from './access-token';
import type { SessionService } from './session.service';

const ANONYMOUS: Authentication = { viewer: null, error: null };
const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Turns an `Authorization` value (HTTP header or WebSocket connectionParams) into a viewer.
 * No value is anonymous; a bad value is an error that only operations needing a viewer throw,
 * so `register` or `login` still work with a stale token lying around in a client.
 */
export class Authenticator implements Authenticate {
  constructor(
    private readonly accessTokens: AccessTokens,
    private readonly sessions: SessionService,
  ) {}

  async authenticate(authorization: unknown): Promise<Authentication> {
    if (authorization === undefined || authorization === null || authorization === '') {
      return ANONYMOUS;
    }
    const match = typeof authorization === 'string' ? BEARER.exec(authorization) : null;
    if (!match) return refused('malformed');
    const claims = this.accessTokens.verify(match[1]!);
    if (claims === 'expired') return refused('accessExpired');
    if (!claims) return refused('accessInvalid');
    const viewer = await this.sessions.findLive(claims.userId, claims.sessionId);
    if (!viewer) return refused('sessionEnded');
    return { viewer, expiresAt: claims.expiresAt, error: null };
  }
}

function refused(refusal: AuthRefusal): Authentication {
  return { viewer: null, error: new UnauthenticatedError(refusal) };
}
