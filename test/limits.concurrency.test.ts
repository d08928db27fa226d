import { setTimeout as sleep } from 'node:timers/promises';
import { registerUser, STRONG_PASSWORD, uniqueEmail } from './helpers/accounts';
import { tokenFromMail } from './helpers/smtp-capture';
import { useTestApp } from './helpers/test-app';

/**
 * Every limit and single-use token faces concurrent attempts, as a script would send them:
 * N attempts at once against a limit of M evaluate at most M (an attempt is counted before it
 * is judged, never checked first and counted after). Each test comes from its own client
 * address (X-Forwarded-For behind a trusted loopback proxy), so the per-address limits of one
 * test do not spend another's.
 */
const LIMITS = {
  loginFailuresPerEmail: { points: 10, durationSeconds: 900 },
  loginFailuresPerIp: { points: 100, durationSeconds: 900 },
  mailPerIp: { points: 30, durationSeconds: 3600 },
  mailPerAddressPerMinute: { points: 1, durationSeconds: 60 },
  mailPerAddressPerHour: { points: 5, durationSeconds: 3600 },
  registrationsPerIp: { points: 20, durationSeconds: 3600 },
  messagesPerUserPerMinute: { points: 5, durationSeconds: 60 },
};

type Result = { data?: Record<string, unknown> | null; errors?: Array<{ extensions?: any }> };
const codeOf = (result: Result) =>
  result.errors ? String(result.errors[0]?.extensions?.code) : 'OK';
const tally = (results: Result[]) => {
  const counts: Record<string, number> = {};
  for (const result of results) counts[codeOf(result)] = (counts[codeOf(result)] ?? 0) + 1;
  return counts;
};

describe('limits and single-use tokens under concurrent attempts', () => {
  const app = useTestApp({ rateLimits: LIMITS, env: { TRUST_PROXY: 'loopback' } });
  let ipCounter = 0;

  /** A client address of this test's own. */
  const newClient = () => {
    ipCounter += 1;
    const ip = `198.51.100.${ipCounter}`;
    return (query: string, variables?: Record<string, unknown>, token?: string) =>
      app
        .http()
        .raw(query, variables, { token, headers: { 'x-forwarded-for': ip } }) as Promise<Result>;
  };
  const LOGIN = 'mutation L($input: LoginInput!) { login(input: $input) { accessToken } }';

  it('should evaluate at most 10 of 30 concurrent wrong passwords for one account', async () => {
    const user = await registerUser(app);
    const call = newClient();
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        call(LOGIN, { input: { email: user.email, password: `wrong-${i}` } }),
      ),
    );
    const counts = tally(results);
    expect(counts.INVALID_CREDENTIALS).toBeLessThanOrEqual(10);
    expect(counts.RATE_LIMITED).toBeGreaterThanOrEqual(20);
    const limited = results.find((r) => codeOf(r) === 'RATE_LIMITED')!;
    expect(limited.errors![0]!.extensions.retryAfterSeconds).toBeGreaterThan(0);
    // Even the right password waits now: the account is what the limit protects.
    const right = await call(LOGIN, { input: { email: user.email, password: user.password } });
    expect(codeOf(right)).toBe('RATE_LIMITED');
  });

  it('should evaluate at most 100 of 150 concurrent failed sign-ins from one client address', async () => {
    const call = newClient();
    const results = await Promise.all(
      Array.from({ length: 150 }, () =>
        call(LOGIN, { input: { email: uniqueEmail('ghost'), password: 'not-the-password' } }),
      ),
    );
    const counts = tally(results);
    expect(counts.INVALID_CREDENTIALS).toBeLessThanOrEqual(100);
    expect(counts.RATE_LIMITED).toBeGreaterThanOrEqual(50);
  }, 60_000);

  it('should not count a successful sign-in against its client address', async () => {
    const user = await registerUser(app);
    const call = newClient();
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        call(LOGIN, { input: { email: user.email, password: user.password } }),
      ),
    );
    expect(tally(results)).toEqual({ OK: 8 });
  });

  it('should evaluate at most 10 of 20 concurrent wrong current passwords in changePassword', async () => {
    const user = await registerUser(app);
    const call = newClient();
    const CHANGE = 'mutation C($input: ChangePasswordInput!) { changePassword(input: $input) }';
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(
          CHANGE,
          {
            input: {
              currentPassword: `wrong-${i}-guess`,
              newPassword: 'a-New-password-99',
              confirmNewPassword: 'a-New-password-99',
            },
          },
          user.auth.accessToken,
        ),
      ),
    );
    const counts = tally(results);
    expect(counts.INVALID_CREDENTIALS).toBeLessThanOrEqual(10);
    expect(counts.RATE_LIMITED).toBeGreaterThanOrEqual(10);
  });

  it('should create at most 20 of 25 concurrent registrations from one client address', async () => {
    const call = newClient();
    const REGISTER =
      'mutation R($input: RegisterInput!) { register(input: $input) { user { id } } }';
    const results = await Promise.all(
      Array.from({ length: 25 }, () =>
        call(REGISTER, {
          input: {
            email: uniqueEmail('burst'),
            password: STRONG_PASSWORD,
            confirmPassword: STRONG_PASSWORD,
            firstName: 'B',
            lastName: 'U',
          },
        }),
      ),
    );
    const counts = tally(results);
    expect(counts.OK).toBeLessThanOrEqual(20);
    expect(counts.RATE_LIMITED).toBeGreaterThanOrEqual(5);
  }, 60_000);

  it('should send at most 30 of 40 concurrent mail requests from one client address, refusing known and unknown targets alike', async () => {
    const known = await registerUser(app);
    const call = newClient();
    const FORGOT = 'mutation F($email: String!) { forgotPassword(email: $email) }';
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        call(FORGOT, { email: i % 2 === 0 ? known.email : uniqueEmail('nobody') }),
      ),
    );
    const counts = tally(results);
    expect(counts.OK).toBeLessThanOrEqual(30);
    expect(counts.RATE_LIMITED).toBeGreaterThanOrEqual(10);
    // What comes back for the next request does not depend on the target.
    const nextKnown = await call(FORGOT, { email: known.email });
    const nextUnknown = await call(FORGOT, { email: uniqueEmail('nobody') });
    expect(codeOf(nextKnown)).toBe('RATE_LIMITED');
    expect(codeOf(nextUnknown)).toBe('RATE_LIMITED');
  });

  it('should answer true to forgotPassword and resendVerificationEmail right after register, as for an unknown address, and send one mail of each kind within the minute', async () => {
    const user = await registerUser(app);
    const call = newClient();
    await app.mail.waitFor((mail) => mail.to.includes(user.email));
    for (const query of [
      'mutation F($email: String!) { forgotPassword(email: $email) }',
      'mutation V($email: String!) { resendVerificationEmail(email: $email) }',
    ]) {
      const results = await Promise.all([
        call(query, { email: user.email }),
        call(query, { email: user.email }),
        call(query, { email: uniqueEmail('nobody') }),
      ]);
      for (const result of results) {
        expect(result.errors).toBeUndefined();
        expect(Object.values(result.data!)[0]).toBe(true);
      }
    }
    // The per-address limit counts each kind apart (1 a minute; the sign-up mail is the
    // verification's): one reset goes, the second reset and both resends are skipped silently.
    await sleep(500);
    const subjects = app.mail.to(user.email).map((mail) => mail.subject);
    expect(subjects.sort()).toEqual(['Confirm your email address', 'Reset your password']);
  });

  it('should mail at most one of 10 concurrent reset requests for one address within a minute', async () => {
    const call = newClient();
    const email = uniqueEmail('target');
    await app.app.models.User.create({
      email,
      passwordHash: 'unused',
      firstName: 'T',
      lastName: 'T',
      emailVerified: true,
      metadata: {},
    });
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        call('mutation F($email: String!) { forgotPassword(email: $email) }', { email }),
      ),
    );
    expect(tally(results)).toEqual({ OK: 10 });
    await app.mail.waitFor((mail) => mail.to.includes(email));
    await sleep(500);
    expect(app.mail.to(email)).toHaveLength(1);
  });

  it('should start at most 3 of 12 concurrent sendMessage replies for one user', async () => {
    const user = await registerUser(app);
    app.openai.defaultReply = { chunks: Array.from({ length: 50 }, () => 'z '), delayMs: 20 };
    try {
      const call = newClient();
      const SEND =
        'mutation S($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }';
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          call(SEND, { input: { prompt: `burst ${i}` } }, user.auth.accessToken),
        ),
      );
      const counts = tally(results);
      expect(counts.OK).toBeLessThanOrEqual(3);
      expect(counts.RATE_LIMITED).toBeGreaterThanOrEqual(9);
      expect(
        app.app.replies.activeFor(String(await userIdOf(user.auth.accessToken))),
      ).toBeLessThanOrEqual(3);
      for (const result of results.filter((r) => !r.errors)) {
        const id = (result.data!.sendMessage as { assistantMessage: { id: string } })
          .assistantMessage.id;
        await call(
          'mutation X($id: ID!) { stopGeneration(messageId: $id) { id } }',
          { id },
          user.auth.accessToken,
        );
      }
    } finally {
      app.openai.defaultReply = { chunks: ['ok'] };
    }
  });

  it('should count every one of 15 concurrent prompts against the 5 a minute', async () => {
    const user = await registerUser(app);
    const call = newClient();
    const SEND =
      'mutation S($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }';
    const results = await Promise.all(
      Array.from({ length: 15 }, (_, i) =>
        call(SEND, { input: { prompt: `minute ${i}` } }, user.auth.accessToken),
      ),
    );
    const counts = tally(results);
    expect(counts.OK).toBeLessThanOrEqual(3); // the 3-at-once cap is stricter still
    expect((counts.OK ?? 0) + (counts.RATE_LIMITED ?? 0)).toBe(15);
    // Every attempt of the burst counted: the minute's 5 are spent, with no reply running.
    for (let i = 0; i < 100 && app.app.replies.size > 0; i += 1) {
      await sleep(20);
    }
    const after = await call(SEND, { input: { prompt: 'one more' } }, user.auth.accessToken);
    expect(codeOf(after)).toBe('RATE_LIMITED');
  });

  it('should verify an email once of 16 concurrent uses of one verification link', async () => {
    const user = await registerUser(app);
    const mail = await app.mail.waitFor(
      (m) => m.to.includes(user.email) && m.text.includes('/verify-email'),
    );
    const token = tokenFromMail(mail, '/verify-email');
    const call = newClient();
    const results = await Promise.all(
      Array.from({ length: 16 }, () =>
        call('mutation V($token: String!) { verifyEmail(token: $token) { emailVerified } }', {
          token,
        }),
      ),
    );
    expect(tally(results)).toEqual({ OK: 1, INVALID_TOKEN: 15 });
  });

  it('should let one of 16 concurrent logouts with one refresh token end the session', async () => {
    const user = await registerUser(app);
    const call = newClient();
    const results = await Promise.all(
      Array.from({ length: 16 }, () =>
        call('mutation O($t: String!) { logout(refreshToken: $t) }', {
          t: user.auth.refreshToken,
        }),
      ),
    );
    const trues = results.filter((r) => r.data?.logout === true).length;
    expect(trues).toBe(1);
    expect(results.every((r) => !r.errors)).toBe(true);
  });

  const userIdOf = async (token: string) => {
    const me = await app.http().raw<{ me: { id: string } }>('{ me { id } }', undefined, { token });
    return me.data!.me.id;
  };
});
