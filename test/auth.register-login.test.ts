import argon2 from 'argon2';
import { availableParallelism } from 'node:os';
import { LoginDocument, MeDocument, RegisterDocument, SessionsDocument } from './gql/graphql';
import { STRONG_PASSWORD, loginUser, registerUser, uniqueEmail } from './helpers/accounts';
import { errorCode } from './helpers/http-client';
import { APP_URL, TestApp, useTestApp } from './helpers/test-app';
import { DEFAULT_RATE_LIMITS } from '../src/rate-limit/rate-limits';

const registerInput = (email: string, password = STRONG_PASSWORD, confirmPassword = password) => ({
  input: { email, password, confirmPassword, firstName: 'Ada', lastName: 'Lovelace' },
});

describe('register and login', () => {
  const app = useTestApp();

  it('should sign a new user in, store the address trimmed and lower-cased, and mail a verification link', async () => {
    const local = uniqueEmail('Mixed').replace('@example.com', '');
    const { register } = await app
      .http()
      .data(RegisterDocument, registerInput(`  ${local.toUpperCase()}@Example.COM `));
    const email = `${local.toLowerCase()}@example.com`;
    expect(register.user.email).toBe(email);
    expect(register.user.emailVerified).toBe(false);
    expect(register.user.metadata).toEqual({});
    expect(new Date(register.accessTokenExpiresAt).getTime()).toBeGreaterThan(Date.now());

    const me = await app.http().data(MeDocument, {}, { token: register.accessToken });
    expect(me.me.id).toBe(register.user.id);

    const mail = await app.mail.waitFor((m) => m.to.includes(email));
    expect(mail.subject).toMatch(/confirm/i);
    expect(mail.text).toMatch(new RegExp(`${APP_URL}/verify-email\\?token=[A-Za-z0-9_-]{43}`));
    expect(mail.html).toContain('/verify-email?token=');
  });

  it('should store passwords as argon2id with OWASP-equivalent parameters (12 MiB, 3 passes, 1 lane), never as given', async () => {
    const user = await registerUser(app);
    const record = await app.app.models.User.findOne({ email: user.email }).lean();
    expect(record!.passwordHash).toMatch(/^\$argon2id\$v=19\$m=12288,p=1,t=3\$/);
    expect(record!.passwordHash).not.toContain(user.password);
  });

  it('should refuse an address already registered in another letter case with CONFLICT', async () => {
    const user = await registerUser(app);
    const result = await app
      .http()
      .request(RegisterDocument, registerInput(user.email.toUpperCase()));
    expect(errorCode(result)).toBe('CONFLICT');
    expect(await app.app.models.User.countDocuments({ email: user.email })).toBe(1);
  });

  it.each([
    ['a mismatched confirmation', STRONG_PASSWORD, 'something-else-entirely', 'confirmPassword'],
    ['a password under 8 characters', 'Sh0rt!', 'Sh0rt!', 'password'],
    ['a password over 128 characters', 'x9!'.repeat(43), 'x9!'.repeat(43), 'password'],
    ['a common password', 'password123', 'password123', 'password'],
    ['a common password in other letters', 'PassWord123', 'PassWord123', 'password'],
  ])(
    'should refuse %s with BAD_USER_INPUT on that field',
    async (_case, password, confirm, field) => {
      const email = uniqueEmail();
      const result = await app
        .http()
        .request(RegisterDocument, registerInput(email, password, confirm));
      expect(errorCode(result)).toBe('BAD_USER_INPUT');
      expect(Object.keys(result.errors![0]!.extensions!.fields as object)).toContain(field);
      expect(await app.app.models.User.countDocuments({ email })).toBe(0);
    },
  );

  it('should refuse a password over 128 characters before hashing it', async () => {
    const hash = jest.spyOn(argon2, 'hash');
    const verify = jest.spyOn(argon2, 'verify');
    try {
      const long = 'q7#'.repeat(100);
      const registered = await app
        .http()
        .request(RegisterDocument, registerInput(uniqueEmail(), long));
      const login = await app
        .http()
        .request(LoginDocument, { input: { email: uniqueEmail(), password: long } });
      expect(errorCode(registered)).toBe('BAD_USER_INPUT');
      expect(errorCode(login)).toBe('BAD_USER_INPUT');
      expect(hash).not.toHaveBeenCalled();
      expect(verify).not.toHaveBeenCalled();
    } finally {
      hash.mockRestore();
      verify.mockRestore();
    }
  });

  it('should never trim or alter a password', async () => {
    const password = '  spaced out password  ';
    const user = await registerUser(app, { password });
    await expect(loginUser(app, { email: user.email, password })).resolves.toBeTruthy();
    const trimmed = await app
      .http()
      .request(LoginDocument, { input: { email: user.email, password: password.trim() } });
    expect(errorCode(trimmed)).toBe('INVALID_CREDENTIALS');
  });

  it('should accept only the input fields it declares: nobody can register as verified', async () => {
    const literal = await app
      .http()
      .raw(
        `mutation { register(input: {email: "${uniqueEmail()}", password: "${STRONG_PASSWORD}", confirmPassword: "${STRONG_PASSWORD}", firstName: "A", lastName: "B", emailVerified: true}) { user { emailVerified } } }`,
      );
    expect(literal.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const variables = await app
      .http()
      .raw(
        'mutation($input: RegisterInput!) { register(input: $input) { user { emailVerified } } }',
        { input: { ...registerInput(uniqueEmail()).input, emailVerified: true } },
      );
    expect(errorCode(variables)).toBe('BAD_USER_INPUT');
    expect(variables.errors?.[0]?.extensions?.fields).toHaveProperty('emailVerified');
    // The message names the field without echoing the submitted password back.
    expect(variables.errors?.[0]?.message).not.toContain(STRONG_PASSWORD);
    expect(variables.data ?? null).toBeNull();
  });

  it('should answer an unknown address and a wrong password the same, after the same argon2 work', async () => {
    const user = await registerUser(app);
    const verify = jest.spyOn(argon2, 'verify');
    try {
      const wrong = await app
        .http()
        .request(LoginDocument, { input: { email: user.email, password: 'not-the-password-1' } });
      expect(verify).toHaveBeenCalledTimes(1);
      const unknown = await app.http().request(LoginDocument, {
        input: { email: uniqueEmail(), password: 'not-the-password-1' },
      });
      expect(verify).toHaveBeenCalledTimes(2);
      expect(errorCode(wrong)).toBe('INVALID_CREDENTIALS');
      expect(unknown.errors).toEqual(wrong.errors);
    } finally {
      verify.mockRestore();
    }
  });

  it('should sign in with the address in any letter case and record the device', async () => {
    const user = await registerUser(app);
    const auth = await loginUser(
      app,
      { email: ` ${user.email.toUpperCase()}`, password: user.password },
      'Palaver-Test/2.0',
    );
    const { sessions } = await app.http().data(SessionsDocument, {}, { token: auth.accessToken });
    expect(sessions).toHaveLength(2);
    const current = sessions.find((s) => s.current)!;
    expect(current.userAgent).toBe('Palaver-Test/2.0');
    expect(current.ip).toBe('127.0.0.1');
  });

  it('should run at most one argon2 computation per core at a time during a login storm', async () => {
    const user = await registerUser(app);
    let running = 0;
    let peak = 0;
    const original = argon2.verify;
    const verify = jest.spyOn(argon2, 'verify').mockImplementation(async (...args) => {
      running += 1;
      peak = Math.max(peak, running);
      try {
        return await original(...args);
      } finally {
        running -= 1;
      }
    });
    try {
      const storm = Array.from({ length: 8 }, () => loginUser(app, user));
      await Promise.all(storm);
      expect(verify).toHaveBeenCalledTimes(8);
      expect(peak).toBeLessThanOrEqual(availableParallelism());
    } finally {
      verify.mockRestore();
    }
  });
});

describe('login and registration limits', () => {
  const app = useTestApp({
    rateLimits: {
      loginFailuresPerEmail: DEFAULT_RATE_LIMITS.loginFailuresPerEmail,
      registrationsPerIp: { points: 3, durationSeconds: 3600 },
    },
  });

  it('should answer RATE_LIMITED with retryAfterSeconds after 10 failed logins for one address', async () => {
    const email = uniqueEmail();
    const codes: unknown[] = [];
    for (let i = 0; i < 12; i += 1) {
      const result = await app
        .http()
        .request(LoginDocument, { input: { email, password: `wrong-password-${i}` } });
      codes.push(errorCode(result));
      if (i === 11) {
        expect(result.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
        expect(result.errors![0]!.extensions!.retryAfterSeconds).toBeLessThanOrEqual(15 * 60);
      }
    }
    expect(codes).toEqual([
      ...Array(10).fill('INVALID_CREDENTIALS'),
      'RATE_LIMITED',
      'RATE_LIMITED',
    ]);
  });

  it('should refuse a correct password too while the address is limited', async () => {
    const user = await registerUser(app);
    for (let i = 0; i < 10; i += 1) {
      await app
        .http()
        .request(LoginDocument, { input: { email: user.email, password: `wrong-${i}-password` } });
    }
    const result = await app
      .http()
      .request(LoginDocument, { input: { email: user.email, password: user.password } });
    expect(errorCode(result)).toBe('RATE_LIMITED');
  });

  it('should count login attempts sent over the WebSocket against the same limit', async () => {
    const user = await registerUser(app);
    const socket = app.socket(user.auth.accessToken);
    try {
      const target = uniqueEmail();
      const codes: unknown[] = [];
      for (let i = 0; i < 11; i += 1) {
        const result = await socket.execute(LoginDocument, {
          input: { email: target, password: `wrong-${i}-password` },
        });
        codes.push(result.errors?.[0]?.extensions?.code);
      }
      expect(codes.slice(0, 10).every((code) => code === 'INVALID_CREDENTIALS')).toBe(true);
      expect(codes[10]).toBe('RATE_LIMITED');
    } finally {
      await socket.dispose();
    }
  });

  it('should limit registrations per client address', async () => {
    // registerUser above already registered 2 from this address in this app.
    const third = await app.http().request(RegisterDocument, registerInput(uniqueEmail()));
    expect(third.errors).toBeUndefined();
    const fourth = await app.http().request(RegisterDocument, registerInput(uniqueEmail()));
    expect(errorCode(fourth)).toBe('RATE_LIMITED');
  });
});

describe('client address behind a proxy', () => {
  it('should ignore X-Forwarded-For unless TRUST_PROXY is set', async () => {
    const plain = await TestApp.start();
    const proxied = await TestApp.start({ env: { TRUST_PROXY: 'loopback' } });
    try {
      for (const [app, expected] of [
        [plain, '127.0.0.1'],
        [proxied, '203.0.113.9'],
      ] as const) {
        const user = await registerUser(app);
        const { login } = await app
          .http()
          .data(
            LoginDocument,
            { input: { email: user.email, password: user.password } },
            { headers: { 'x-forwarded-for': '203.0.113.9' } },
          );
        const { sessions } = await app
          .http()
          .data(SessionsDocument, {}, { token: login.accessToken });
        expect(sessions.find((s) => s.current)!.ip).toBe(expected);
      }
    } finally {
      await plain.stop();
      await proxied.stop();
    }
  });
});
