import type { GraphQLFormattedError } from 'graphql';
import { Types } from 'mongoose';
import {
  DisableTwoFactorDocument,
  LoginDocument,
  MeDocument,
  MeTwoFactorDocument,
  StartTotpEnrollmentDocument,
  VerifySecondFactorDocument,
  ConfirmTotpEnrollmentDocument,
} from './gql/graphql';
import { registerUser, type TestUser } from './helpers/accounts';
import { codeAt, enrolledUser, wrongCode } from './helpers/two-factor';
import { errorCode, type HttpResult } from './helpers/http-client';
import { useTestApp, type TestApp } from './helpers/test-app';
import { DEFAULT_RATE_LIMITS } from '../src/rate-limit/rate-limits';

const extensionsOf = (result: { errors?: readonly GraphQLFormattedError[] }) =>
  result.errors?.[0]?.extensions ?? {};

/** Signs in with the password; returns the second-factor challenge the server answers with. */
async function challengeFor(app: TestApp, user: TestUser): Promise<string> {
  const result = await app
    .http()
    .request(LoginDocument, { input: { email: user.email, password: user.password } });
  expect(errorCode(result)).toBe('SECOND_FACTOR_REQUIRED');
  return extensionsOf(result).challenge as string;
}

const verify = (
  app: TestApp,
  challenge: string,
  code: { totpCode?: string; recoveryCode?: string },
): Promise<HttpResult<unknown>> =>
  app.http().request(VerifySecondFactorDocument, { input: { challenge, ...code } });

describe('two-step sign-in with an authenticator app (TOTP)', () => {
  const app = useTestApp();

  it('should turn on only after a first right code, and give 10 recovery codes once', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    expect(
      errorCode(
        await app
          .http()
          .request(StartTotpEnrollmentDocument, { password: 'not-the-password' }, { token }),
      ),
    ).toBe('INVALID_CREDENTIALS');
    const { startTotpEnrollment } = await app
      .http()
      .data(StartTotpEnrollmentDocument, { password: user.password }, { token });
    const { secret, otpauthUrl } = startTotpEnrollment;
    expect(otpauthUrl).toMatch(/^otpauth:\/\/totp\//);
    expect(new URL(otpauthUrl).searchParams.get('secret')).toBe(secret);

    // Not on yet: login still signs in with the password alone.
    expect((await app.http().data(MeTwoFactorDocument, {}, { token })).me.twoFactorEnabled).toBe(
      false,
    );
    const wrong = await app
      .http()
      .request(ConfirmTotpEnrollmentDocument, { code: wrongCode(secret) }, { token });
    expect(errorCode(wrong)).toBe('BAD_USER_INPUT');

    const { confirmTotpEnrollment: codes } = await app
      .http()
      .data(ConfirmTotpEnrollmentDocument, { code: codeAt(secret) }, { token });
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    expect((await app.http().data(MeTwoFactorDocument, {}, { token })).me.twoFactorEnabled).toBe(
      true,
    );
    await app.mail.waitFor(
      (mail) => mail.to.includes(user.email) && /new way to sign in/i.test(mail.subject),
    );
  });

  it('should keep the TOTP secret encrypted and the recovery codes hashed at rest', async () => {
    const user = await enrolledUser(app);
    const stored = JSON.stringify([
      await app.app.models.User.findOne({ email: user.email }).lean(),
      await app.app.models.RecoveryCode.find({}).lean(),
      await app.app.models.SecurityEvent.find({}).lean(),
    ]);
    expect(stored).not.toContain(user.secret);
    for (const code of user.recoveryCodes) {
      expect(stored).not.toContain(code);
      expect(stored).not.toContain(code.replace(/-/g, ''));
    }
  });

  it('should answer login with SECOND_FACTOR_REQUIRED and sign in with the right code, once', async () => {
    const user = await enrolledUser(app);
    const result = await app
      .http()
      .request(LoginDocument, { input: { email: user.email, password: user.password } });
    expect(errorCode(result)).toBe('SECOND_FACTOR_REQUIRED');
    expect(result.data).toBeNull();
    const { challenge, methods } = extensionsOf(result);
    expect(methods).toEqual(['TOTP', 'RECOVERY_CODE']);

    const signedIn = await verify(app, challenge as string, { totpCode: codeAt(user.secret, 1) });
    expect(signedIn.errors).toBeUndefined();
    const auth = (signedIn.data as { verifySecondFactor: { accessToken: string } })
      .verifySecondFactor;
    const me = await app.http().data(MeDocument, {}, { token: auth.accessToken });
    expect(me.me.email).toBe(user.email);

    // The challenge is spent: it yields no second session.
    expect(
      errorCode(await verify(app, challenge as string, { totpCode: codeAt(user.secret, 1) })),
    ).toBe('INVALID_TOKEN');
  });

  it('should still refuse a wrong password with INVALID_CREDENTIALS and no challenge', async () => {
    const user = await enrolledUser(app);
    const result = await app
      .http()
      .request(LoginDocument, { input: { email: user.email, password: 'wrong-Password-1' } });
    expect(errorCode(result)).toBe('INVALID_CREDENTIALS');
    expect(extensionsOf(result).challenge).toBeUndefined();
  });

  it('should refuse a replayed code: one that was already accepted is never accepted again', async () => {
    const user = await enrolledUser(app);
    // The code that confirmed the enrollment is spent.
    const replayed = await verify(app, await challengeFor(app, user), {
      totpCode: user.enrollingCode,
    });
    expect(errorCode(replayed)).toBe('INVALID_CREDENTIALS');

    const next = codeAt(user.secret, 1);
    expect((await verify(app, await challengeFor(app, user), { totpCode: next })).errors).toBe(
      undefined,
    );
    expect(errorCode(await verify(app, await challengeFor(app, user), { totpCode: next }))).toBe(
      'INVALID_CREDENTIALS',
    );
  });

  it('should accept a replayed code only once when both uses arrive together', async () => {
    const user = await enrolledUser(app);
    const challenges = await Promise.all([challengeFor(app, user), challengeFor(app, user)]);
    const code = codeAt(user.secret, 1);
    const results = await Promise.all(
      challenges.map((challenge) => verify(app, challenge, { totpCode: code })),
    );
    expect(results.filter((result) => !result.errors)).toHaveLength(1);
  });

  it('should accept each recovery code once', async () => {
    const user = await enrolledUser(app);
    const [code] = user.recoveryCodes;
    // Typed without dashes and in lower case, as people do.
    const typed = code!.replace(/-/g, '').toLowerCase();
    expect((await verify(app, await challengeFor(app, user), { recoveryCode: typed })).errors).toBe(
      undefined,
    );
    expect(
      errorCode(await verify(app, await challengeFor(app, user), { recoveryCode: code! })),
    ).toBe('INVALID_CREDENTIALS');
    const userId = user.auth.user.id;
    const kinds = (await app.app.models.SecurityEvent.find({}).lean())
      .filter((event) => String(event.userId) === userId)
      .map((event) => event.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(['TWO_FACTOR_ENABLED', 'RECOVERY_CODE_USED', 'SECOND_FACTOR_FAILED']),
    );
  });

  it("should not accept another user's recovery code", async () => {
    const [owner, other] = await Promise.all([enrolledUser(app), enrolledUser(app)]);
    const result = await verify(app, await challengeFor(app, other), {
      recoveryCode: owner.recoveryCodes[0]!,
    });
    expect(errorCode(result)).toBe('INVALID_CREDENTIALS');
  });

  it('should kill a challenge after 5 wrong codes, so the right one then fails too', async () => {
    const user = await enrolledUser(app);
    const challenge = await challengeFor(app, user);
    for (let attempt = 0; attempt < 5; attempt++) {
      const result = await verify(app, challenge, { totpCode: wrongCode(user.secret, attempt) });
      expect(errorCode(result)).toBe('INVALID_CREDENTIALS');
      expect(extensionsOf(result).attemptsLeft).toBe(4 - attempt);
    }
    expect(errorCode(await verify(app, challenge, { totpCode: codeAt(user.secret, 1) }))).toBe(
      'INVALID_TOKEN',
    );
    // A new sign-in gets a new challenge, and the right code works there.
    expect(
      (await verify(app, await challengeFor(app, user), { totpCode: codeAt(user.secret, 1) }))
        .errors,
    ).toBeUndefined();
  });

  it('should bound concurrent guesses at one challenge to 5, over several trials', async () => {
    for (let trial = 0; trial < 3; trial++) {
      const user = await enrolledUser(app);
      const challenge = await challengeFor(app, user);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, n) =>
          verify(app, challenge, { totpCode: wrongCode(user.secret, n) }),
        ),
      );
      const codes = results.map(errorCode);
      expect(codes.filter((code) => code === 'INVALID_CREDENTIALS')).toHaveLength(5);
      expect(codes.filter((code) => code === 'INVALID_TOKEN')).toHaveLength(15);
      expect(errorCode(await verify(app, challenge, { totpCode: codeAt(user.secret, 1) }))).toBe(
        'INVALID_TOKEN',
      );
    }
  });

  it('should refuse a challenge that was never issued, and a call with both or no code', async () => {
    const user = await enrolledUser(app);
    expect(errorCode(await verify(app, 'made-up', { totpCode: codeAt(user.secret, 1) }))).toBe(
      'INVALID_TOKEN',
    );
    const challenge = await challengeFor(app, user);
    expect(errorCode(await verify(app, challenge, {}))).toBe('BAD_USER_INPUT');
    expect(
      errorCode(
        await verify(app, challenge, {
          totpCode: codeAt(user.secret, 1),
          recoveryCode: user.recoveryCodes[0]!,
        }),
      ),
    ).toBe('BAD_USER_INPUT');
  });

  it('should turn off only with the password and a code, ending every other session', async () => {
    const user = await enrolledUser(app);
    const token = user.auth.accessToken;
    const otherChallenge = await challengeFor(app, user);
    const other = (await verify(app, otherChallenge, { totpCode: codeAt(user.secret, 1) }))
      .data as {
      verifySecondFactor: { accessToken: string };
    };
    const otherToken = other.verifySecondFactor.accessToken;

    const disable = (password: string, code: string) =>
      app.http().request(DisableTwoFactorDocument, { password, code }, { token });
    expect(errorCode(await disable('wrong-Password-1', codeAt(user.secret)))).toBe(
      'INVALID_CREDENTIALS',
    );
    expect(errorCode(await disable(user.password, wrongCode(user.secret)))).toBe(
      'INVALID_CREDENTIALS',
    );
    const done = await disable(user.password, user.recoveryCodes[1]!);
    expect(done.errors).toBeUndefined();
    expect(
      (done.data as { disableTwoFactor: { twoFactorEnabled: boolean } }).disableTwoFactor
        .twoFactorEnabled,
    ).toBe(false);

    expect(errorCode(await app.http().request(MeDocument, {}, { token: otherToken }))).toBe(
      'UNAUTHENTICATED',
    );
    expect((await app.http().data(MeDocument, {}, { token })).me.email).toBe(user.email);
    // The password alone signs in again, and the old recovery codes are gone.
    const login = await app
      .http()
      .request(LoginDocument, { input: { email: user.email, password: user.password } });
    expect(login.errors).toBeUndefined();
    expect(
      await app.app.models.RecoveryCode.countDocuments({
        userId: new Types.ObjectId(user.auth.user.id),
      }),
    ).toBe(0);
    await app.mail.waitFor(
      (mail) => mail.to.includes(user.email) && /turned off/i.test(mail.subject),
    );
  });
});

describe('two-step sign-in: wrong codes per account', () => {
  const app = useTestApp({
    rateLimits: { secondFactorFailuresPerUser: DEFAULT_RATE_LIMITS.secondFactorFailuresPerUser },
  });

  it('should allow 10 wrong codes a quarter of an hour across challenges, even concurrent ones', async () => {
    const user = await enrolledUser(app);
    const challenges = await Promise.all([1, 2, 3].map(() => challengeFor(app, user)));
    const results = await Promise.all(
      challenges.flatMap((challenge, c) =>
        Array.from({ length: 5 }, (_, n) =>
          verify(app, challenge, { totpCode: wrongCode(user.secret, c * 5 + n) }),
        ),
      ),
    );
    const codes = results.map(errorCode);
    expect(codes.filter((code) => code === 'INVALID_CREDENTIALS')).toHaveLength(10);
    expect(codes.filter((code) => code === 'RATE_LIMITED')).toHaveLength(5);

    // Now even the right code on a fresh challenge waits.
    const limited = await verify(app, await challengeFor(app, user), {
      totpCode: codeAt(user.secret, 1),
    });
    expect(errorCode(limited)).toBe('RATE_LIMITED');
    expect(extensionsOf(limited).retryAfterSeconds).toBeGreaterThan(0);
  });
});
