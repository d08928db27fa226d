import { setTimeout as sleep } from 'node:timers/promises';
import { createHmac } from 'node:crypto';
import jwt from 'jsonwebtoken';
import {
  LogoutAllSessionsDocument,
  LogoutDocument,
  MeDocument,
  RefreshSessionDocument,
  RevokeSessionDocument,
  SessionsDocument,
} from './gql/graphql';
import { loginUser, registerUser } from './helpers/accounts';
import { errorCode, errorReason } from './helpers/http-client';
import { TestApp, useTestApp } from './helpers/test-app';

describe('sessions and refresh tokens', () => {
  let app: TestApp;
  /** The reuse grace window, shortened so that a test can wait past it. */
  const GRACE_MS = 1_000;
  beforeAll(async () => {
    app = await TestApp.start({
      env: { REFRESH_TOKEN_REUSE_GRACE_SECONDS: String(GRACE_MS / 1000) },
    });
  });
  afterAll(async () => {
    await app.stop();
  });

  const me = (token: string) => app.http().request(MeDocument, {}, { token });

  it('should swap a refresh token for a new pair that works, and store refresh tokens only hashed', async () => {
    const user = await registerUser(app);
    const { refreshSession } = await app
      .http()
      .data(RefreshSessionDocument, { refreshToken: user.auth.refreshToken });
    expect(refreshSession.refreshToken).not.toBe(user.auth.refreshToken);
    expect(refreshSession.user.id).toBe(user.auth.user.id);
    expect((await me(refreshSession.accessToken)).data?.me.id).toBe(user.auth.user.id);

    const stored = JSON.stringify(
      await app.app.models.Session.find({ userId: user.auth.user.id }).lean(),
    );
    const secret = refreshSession.refreshToken.split('.')[1]!;
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(user.auth.refreshToken.split('.')[1]!);
  });

  it('should end the whole session when a used refresh token comes back after the grace window', async () => {
    const user = await registerUser(app);
    const first = await app
      .http()
      .data(RefreshSessionDocument, { refreshToken: user.auth.refreshToken });
    await sleep(GRACE_MS + 200);
    const replay = await app
      .http()
      .request(RefreshSessionDocument, { refreshToken: user.auth.refreshToken });
    expect(errorCode(replay)).toBe('INVALID_TOKEN');
    expect(errorReason(replay)).toBe('REFRESH_REUSED');
    // The thief's replay also locks out the pair issued after it: the session is gone.
    const locked = await me(first.refreshSession.accessToken);
    expect(errorCode(locked)).toBe('UNAUTHENTICATED');
    expect(errorReason(locked)).toBe('SESSION_ENDED');
    const next = await app
      .http()
      .request(RefreshSessionDocument, { refreshToken: first.refreshSession.refreshToken });
    expect(errorCode(next)).toBe('INVALID_TOKEN');
    expect(errorReason(next)).toBe('INVALID_TOKEN');
  });

  it('should refuse a session that another instance ended, as soon as its event arrives', async () => {
    const user = await registerUser(app);
    // Used once, so this instance has seen the session live (and may remember it).
    expect((await me(user.auth.accessToken)).data?.me.id).toBe(user.auth.user.id);
    const { sid: sessionId } = jwt.decode(user.auth.accessToken) as { sid: string };
    // What another instance's logout does: delete the session, then announce it.
    await app.app.models.Session.deleteOne({ _id: sessionId });
    app.app.pubSub.publish('SESSION_ENDED', { userId: user.auth.user.id, sessionId });
    await new Promise((resolve) => setImmediate(resolve));
    expect(errorCode(await me(user.auth.accessToken))).toBe('UNAUTHENTICATED');
  });

  it('should give twenty concurrent refreshes with one token (tabs refreshing at once) the same new pair, and keep the session', async () => {
    const user = await registerUser(app);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        app.http().request(RefreshSessionDocument, { refreshToken: user.auth.refreshToken }),
      ),
    );
    expect(results.filter((result) => result.errors)).toEqual([]);
    const pairs = new Set(results.map((result) => result.data!.refreshSession.refreshToken));
    expect(pairs.size).toBe(1);
    const [next] = [...pairs];
    expect(next).not.toBe(user.auth.refreshToken);
    for (const result of results.slice(0, 3)) {
      expect((await me(result.data!.refreshSession.accessToken)).data?.me.id).toBe(
        user.auth.user.id,
      );
    }
    // The new token rotates on as usual.
    const after = await app.http().data(RefreshSessionDocument, { refreshToken: next! });
    expect(after.refreshSession.refreshToken).not.toBe(next);
  });

  it('should end the session when a superseded token comes back after its successor was used, even within the grace window', async () => {
    const user = await registerUser(app);
    const first = await app
      .http()
      .data(RefreshSessionDocument, { refreshToken: user.auth.refreshToken });
    const second = await app
      .http()
      .data(RefreshSessionDocument, { refreshToken: first.refreshSession.refreshToken });
    const replay = await app
      .http()
      .request(RefreshSessionDocument, { refreshToken: user.auth.refreshToken });
    expect(errorCode(replay)).toBe('INVALID_TOKEN');
    expect(errorReason(replay)).toBe('REFRESH_REUSED');
    expect(errorCode(await me(second.refreshSession.accessToken))).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['garbage', 'not-a-token'],
    [
      'a well-formed id with a forged secret',
      '0123456789abcdef01234567.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    ],
    ['an empty string', ''],
  ])('should refuse %s as a refresh token with INVALID_TOKEN', async (_case, refreshToken) => {
    const result = await app.http().request(RefreshSessionDocument, { refreshToken });
    expect(errorCode(result)).toBe('INVALID_TOKEN');
    expect(errorReason(result)).toBe('INVALID_TOKEN');
  });

  it('should end one session on logout, refusing its access token at once', async () => {
    const user = await registerUser(app);
    const other = await loginUser(app, user);
    expect(
      (await app.http().data(LogoutDocument, { refreshToken: user.auth.refreshToken })).logout,
    ).toBe(true);
    const ended = await me(user.auth.accessToken);
    expect(errorCode(ended)).toBe('UNAUTHENTICATED');
    expect(errorReason(ended)).toBe('SESSION_ENDED');
    expect((await me(other.accessToken)).data?.me.id).toBe(user.auth.user.id);
    expect(
      (await app.http().data(LogoutDocument, { refreshToken: user.auth.refreshToken })).logout,
    ).toBe(false);
  });

  it('should end every session on logoutAllSessions', async () => {
    const user = await registerUser(app);
    const other = await loginUser(app, user);
    await app.http().data(LogoutAllSessionsDocument, {}, { token: other.accessToken });
    expect(errorCode(await me(user.auth.accessToken))).toBe('UNAUTHENTICATED');
    expect(errorCode(await me(other.accessToken))).toBe('UNAUTHENTICATED');
    const refresh = await app
      .http()
      .request(RefreshSessionDocument, { refreshToken: other.refreshToken });
    expect(errorCode(refresh)).toBe('INVALID_TOKEN');
  });

  it("should list only the caller's sessions and revoke one by id", async () => {
    const user = await registerUser(app);
    const laptop = await loginUser(app, user, 'Laptop/1.0');
    const stranger = await registerUser(app);

    const { sessions } = await app
      .http()
      .data(SessionsDocument, {}, { token: user.auth.accessToken });
    expect(sessions).toHaveLength(2);
    expect(sessions.filter((s) => s.current)).toHaveLength(1);
    const laptopSession = sessions.find((s) => s.userAgent === 'Laptop/1.0')!;

    const foreign = await app
      .http()
      .request(
        RevokeSessionDocument,
        { id: laptopSession.id },
        { token: stranger.auth.accessToken },
      );
    expect(errorCode(foreign)).toBe('NOT_FOUND');
    expect((await me(laptop.accessToken)).data?.me.id).toBe(user.auth.user.id);

    const revoked = await app
      .http()
      .data(RevokeSessionDocument, { id: laptopSession.id }, { token: user.auth.accessToken });
    expect(revoked.revokeSession).toBe(true);
    expect(errorCode(await me(laptop.accessToken))).toBe('UNAUTHENTICATED');
    const again = await app
      .http()
      .request(RevokeSessionDocument, { id: laptopSession.id }, { token: user.auth.accessToken });
    expect(errorCode(again)).toBe('NOT_FOUND');
    const malformed = await app
      .http()
      .request(RevokeSessionDocument, { id: 'not-an-id' }, { token: user.auth.accessToken });
    expect(errorCode(malformed)).toBe('NOT_FOUND');
  });

  it('should answer UNAUTHENTICATED to protected operations without a token', async () => {
    const anonymous = await app.http().request(MeDocument);
    expect(errorCode(anonymous)).toBe('UNAUTHENTICATED');
    expect(errorReason(anonymous)).toBe('INVALID_TOKEN');
    expect(errorCode(await app.http().request(SessionsDocument))).toBe('UNAUTHENTICATED');
  });
});

describe('access tokens that must not pass', () => {
  const app = useTestApp();
  let accessToken: string;
  let refreshToken: string;
  beforeAll(async () => {
    const user = await registerUser(app);
    accessToken = user.auth.accessToken;
    refreshToken = user.auth.refreshToken;
  });

  const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const claimsOf = (token: string) => jwt.decode(token) as jwt.JwtPayload;
  const secret = () => app.config.auth.secretKey;

  const forgeries: Array<[string, () => string]> = [
    [
      'alg "none"',
      () => `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claimsOf(accessToken))}.`,
    ],
    [
      'a tampered payload',
      () => {
        const [header, , signature] = accessToken.split('.');
        return `${header}.${base64url({ ...claimsOf(accessToken), sub: '0123456789abcdef01234567' })}.${signature}`;
      },
    ],
    [
      'a token signed with another key',
      () => jwt.sign({ ...claimsOf(accessToken) }, 'another-key-of-sufficient-length-000000'),
    ],
    [
      'a token signed with HS512 when HS256 is pinned',
      () => {
        const header = base64url({ alg: 'HS512', typ: 'JWT' });
        const payload = base64url(claimsOf(accessToken));
        const signature = createHmac('sha512', secret())
          .update(`${header}.${payload}`)
          .digest('base64url');
        return `${header}.${payload}.${signature}`;
      },
    ],
    [
      'an expired token',
      () =>
        jwt.sign({ ...claimsOf(accessToken), exp: Math.floor(Date.now() / 1000) - 10 }, secret()),
    ],
    [
      'a token for another audience',
      () => jwt.sign({ ...claimsOf(accessToken), aud: 'someone-else' }, secret()),
    ],
    [
      'a token without the access type',
      () => jwt.sign({ ...claimsOf(accessToken), typ: undefined }, secret()),
    ],
    ['the refresh token', () => refreshToken],
    ['a mailed email token', () => 'Cw3m_U9b3gtYFukY8tY76VW6OPTKXvQoOFSdM5Xuzjs'],
  ];

  it.each(forgeries)('should refuse %s with UNAUTHENTICATED and its reason', async (name, make) => {
    const result = await app.http().request(MeDocument, {}, { token: make() });
    expect(errorCode(result)).toBe('UNAUTHENTICATED');
    // Only an expired token is worth a refresh; every other one means signing in again.
    expect(errorReason(result)).toBe(
      name === 'an expired token' ? 'TOKEN_EXPIRED' : 'INVALID_TOKEN',
    );
    expect(result.data ?? null).toBeNull();
  });

  it('should still accept the genuine token (the forgeries were refused for what they are)', async () => {
    expect(
      (await app.http().request(MeDocument, {}, { token: accessToken })).errors,
    ).toBeUndefined();
  });

  it('should refuse a token it accepted a moment ago once that token has expired', async () => {
    // Verified tokens are remembered (access-token.ts): a token seen before must still expire.
    const exp = Math.floor(Date.now() / 1000) + 2;
    const shortLived = jwt.sign({ ...claimsOf(accessToken), exp, jti: 'short-lived' }, secret());
    expect(
      (await app.http().request(MeDocument, {}, { token: shortLived })).errors,
    ).toBeUndefined();
    await sleep(exp * 1000 - Date.now() + 50);
    const result = await app.http().request(MeDocument, {}, { token: shortLived });
    expect(errorCode(result)).toBe('UNAUTHENTICATED');
    expect(errorReason(result)).toBe('TOKEN_EXPIRED');
  });

  it('should refuse a malformed Authorization header with UNAUTHENTICATED', async () => {
    const result = await app
      .http()
      .request(MeDocument, {}, { headers: { authorization: `Token ${accessToken}` } });
    expect(errorCode(result)).toBe('UNAUTHENTICATED');
    expect(errorReason(result)).toBe('INVALID_TOKEN');
  });
});
