import {
  ChangePasswordDocument,
  ForgotPasswordDocument,
  LlmProvidersDocument,
  LogoutAllSessionsDocument,
  LogoutDocument,
  MeDocument,
  ResetPasswordDocument,
  RevokeSessionDocument,
  SessionsDocument,
} from './gql/graphql';
import { AccessTokens } from '../src/modules/auth/access-token';
import { loginUser, registerUser, type TestUser } from './helpers/accounts';
import { tokenFromMail } from './helpers/smtp-capture';
import { TestApp } from './helpers/test-app';
import { TestSocket } from './helpers/ws-client';

const FORBIDDEN = 4403;

describe('WebSocket authentication', () => {
  let app: TestApp;
  const sockets: TestSocket[] = [];
  const open = (socket: TestSocket) => {
    sockets.push(socket);
    return socket;
  };
  beforeAll(async () => {
    app = await TestApp.start();
  });
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.dispose()));
  });
  afterAll(async () => {
    await app.stop();
  });

  const connected = async (token: string) => {
    const socket = open(app.socket(token));
    await socket.connected;
    return socket;
  };

  it('should serve a socket whose connectionParams carry a valid token, under either key spelling', async () => {
    const user = await registerUser(app);
    const lower = await connected(user.auth.accessToken);
    expect((await lower.execute(MeDocument)).data?.me.email).toBe(user.email);
    const upper = open(
      new TestSocket(app.wsUrl, { Authorization: `Bearer ${user.auth.accessToken}` }),
    );
    expect((await upper.execute(MeDocument)).data?.me.email).toBe(user.email);
  });

  it.each([
    ['no token', {}],
    ['a malformed value', { authorization: 'hello' }],
    ['an invalid token', { authorization: 'Bearer not.a.jwt' }],
  ])('should refuse a socket with %s with close code 4403', async (_case, params) => {
    const socket = open(new TestSocket(app.wsUrl, params));
    expect((await socket.nextClose()).code).toBe(FORBIDDEN);
  });

  it('should refuse a socket whose token belongs to an ended session with 4403', async () => {
    const user = await registerUser(app);
    await app.http().data(LogoutDocument, { refreshToken: user.auth.refreshToken });
    const socket = open(app.socket(user.auth.accessToken));
    expect((await socket.nextClose()).code).toBe(FORBIDDEN);
  });

  it('should refuse a socket with an expired token with 4403', async () => {
    const user = await registerUser(app);
    const sessionId = await currentSessionId(user);
    const expired = new AccessTokens({ ...app.config.auth, accessTokenTtlSeconds: -10 }).issue(
      user.auth.user.id,
      sessionId,
    );
    const socket = open(app.socket(expired.token));
    expect((await socket.nextClose()).code).toBe(FORBIDDEN);
  });

  it('should close an open socket with 4403 when its access token expires', async () => {
    const user = await registerUser(app);
    const sessionId = await currentSessionId(user);
    const shortLived = new AccessTokens({ ...app.config.auth, accessTokenTtlSeconds: 2 }).issue(
      user.auth.user.id,
      sessionId,
    );
    const socket = await connected(shortLived.token);
    expect((await socket.execute(LlmProvidersDocument)).errors).toBeUndefined();
    const close = await socket.nextClose(6_000);
    expect(close.code).toBe(FORBIDDEN);
  });

  async function currentSessionId(user: TestUser): Promise<string> {
    const { sessions } = await app
      .http()
      .data(SessionsDocument, {}, { token: user.auth.accessToken });
    return sessions.find((s) => s.current)!.id;
  }

  it('should close the socket of a session when it logs out, and leave the other session open', async () => {
    const user = await registerUser(app);
    const other = await loginUser(app, user);
    const mine = await connected(user.auth.accessToken);
    const theirs = await connected(other.accessToken);
    await app.http().data(LogoutDocument, { refreshToken: user.auth.refreshToken });
    expect((await mine.nextClose()).code).toBe(FORBIDDEN);
    expect((await theirs.execute(MeDocument)).data?.me.id).toBe(user.auth.user.id);
  });

  it('should close every socket of the user on logoutAllSessions', async () => {
    const user = await registerUser(app);
    const other = await loginUser(app, user);
    const stranger = await registerUser(app);
    const sockets = [await connected(user.auth.accessToken), await connected(other.accessToken)];
    const strangers = await connected(stranger.auth.accessToken);
    await app.http().data(LogoutAllSessionsDocument, {}, { token: user.auth.accessToken });
    for (const socket of sockets) expect((await socket.nextClose()).code).toBe(FORBIDDEN);
    expect((await strangers.execute(MeDocument)).data?.me.id).toBe(stranger.auth.user.id);
  });

  it('should close the socket of a revoked session', async () => {
    const user = await registerUser(app);
    const phone = await loginUser(app, user, 'Phone/1.0');
    const socket = await connected(phone.accessToken);
    const { sessions } = await app
      .http()
      .data(SessionsDocument, {}, { token: user.auth.accessToken });
    const id = sessions.find((s) => s.userAgent === 'Phone/1.0')!.id;
    await app.http().data(RevokeSessionDocument, { id }, { token: user.auth.accessToken });
    expect((await socket.nextClose()).code).toBe(FORBIDDEN);
  });

  it("should close other sessions' sockets on a password change, and keep this session's", async () => {
    const user = await registerUser(app);
    const other = await loginUser(app, user);
    const mine = await connected(user.auth.accessToken);
    const theirs = await connected(other.accessToken);
    const password = 'amber-Canyon-62-ledger';
    await app.http().data(
      ChangePasswordDocument,
      {
        input: {
          currentPassword: user.password,
          newPassword: password,
          confirmNewPassword: password,
        },
      },
      { token: user.auth.accessToken },
    );
    expect((await theirs.nextClose()).code).toBe(FORBIDDEN);
    expect((await mine.execute(MeDocument)).data?.me.id).toBe(user.auth.user.id);
  });

  it('should close every socket of the user on a password reset', async () => {
    const user = await registerUser(app);
    const socket = await connected(user.auth.accessToken);
    await app.http().data(ForgotPasswordDocument, { email: user.email });
    const mail = await app.mail.waitFor(
      (m) => m.to.includes(user.email) && /reset/i.test(m.subject),
    );
    const password = 'copper-Meadow-58-signal';
    await app.http().data(ResetPasswordDocument, {
      input: {
        token: tokenFromMail(mail, '/reset-password'),
        newPassword: password,
        confirmNewPassword: password,
      },
    });
    expect((await socket.nextClose()).code).toBe(FORBIDDEN);
  });

  it('should let the graphql-ws client reconnect with a fresh token from connectionParams', async () => {
    const user = await registerUser(app);
    let token = user.auth.accessToken;
    let calls = 0;
    const socket = open(
      new TestSocket(app.wsUrl, () => {
        calls += 1;
        return { authorization: `Bearer ${token}` };
      }),
    );
    await socket.connected;
    // The session ends; the app signs in again and the client reconnects with the new token.
    const fresh = await loginUser(app, user);
    await app.http().data(LogoutDocument, { refreshToken: user.auth.refreshToken });
    expect((await socket.nextClose()).code).toBe(FORBIDDEN);
    token = fresh.accessToken;
    const result = await socket.execute(MeDocument);
    expect(result.data?.me.id).toBe(user.auth.user.id);
    expect(calls).toBe(2);
  });
});
