import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChangePasswordDocument,
  ForgotPasswordDocument,
  LoginDocument,
  MeDocument,
  RefreshSessionDocument,
  ResendVerificationEmailDocument,
  ResetPasswordDocument,
  VerifyEmailDocument,
} from './gql/graphql';
import { STRONG_PASSWORD, loginUser, registerUser, uniqueEmail } from './helpers/accounts';
import { errorCode } from './helpers/http-client';
import { tokenFromMail } from './helpers/smtp-capture';
import { useTestApp } from './helpers/test-app';
import { DEFAULT_RATE_LIMITS } from '../src/rate-limit/rate-limits';
import { EmailTokenPurpose } from '../src/modules/auth/email-token.model';

const NEW_PASSWORD = 'violet-Harbor-93-compass';
const resetInput = (token: string, password = NEW_PASSWORD) => ({
  input: { token, newPassword: password, confirmNewPassword: password },
});

describe('email verification', () => {
  const app = useTestApp();

  const verificationToken = async (email: string, nth = 1) => {
    await app.mail.waitFor(
      () => app.mail.to(email).filter((m) => m.subject.match(/confirm/i)).length >= nth,
    );
    return tokenFromMail(
      app.mail.to(email).filter((m) => m.subject.match(/confirm/i))[nth - 1]!,
      '/verify-email',
    );
  };

  it('should verify the address with the token from the mailed link, once', async () => {
    const user = await registerUser(app);
    const token = await verificationToken(user.email);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { verifyEmail } = await app.http().data(VerifyEmailDocument, { token });
    expect(verifyEmail.emailVerified).toBe(true);
    const again = await app.http().request(VerifyEmailDocument, { token });
    expect(errorCode(again)).toBe('INVALID_TOKEN');
    const stored = JSON.stringify(await app.app.models.EmailToken.find({}).lean());
    expect(stored).not.toContain(token);
  });

  it('should replace the previous link when a new one is sent', async () => {
    const user = await registerUser(app);
    const first = await verificationToken(user.email, 1);
    expect(
      (await app.http().data(ResendVerificationEmailDocument, { email: user.email }))
        .resendVerificationEmail,
    ).toBe(true);
    const second = await verificationToken(user.email, 2);
    expect(second).not.toBe(first);
    expect(errorCode(await app.http().request(VerifyEmailDocument, { token: first }))).toBe(
      'INVALID_TOKEN',
    );
    expect(
      (await app.http().data(VerifyEmailDocument, { token: second })).verifyEmail.emailVerified,
    ).toBe(true);
  });

  it('should answer true and send nothing for an unknown or already verified address', async () => {
    const unknown = uniqueEmail();
    expect(
      (await app.http().data(ResendVerificationEmailDocument, { email: unknown }))
        .resendVerificationEmail,
    ).toBe(true);
    const user = await registerUser(app);
    await app.http().data(VerifyEmailDocument, { token: await verificationToken(user.email) });
    await app.http().data(ResendVerificationEmailDocument, { email: user.email });
    await app.app.outbox.drain();
    expect(app.mail.to(unknown)).toHaveLength(0);
    expect(app.mail.to(user.email)).toHaveLength(1);
  });

  it('should refuse an expired verification token', async () => {
    const user = await registerUser(app);
    const token = await verificationToken(user.email);
    await app.app.models.EmailToken.updateMany(
      {},
      { $set: { expiresAt: new Date(Date.now() - 1000) } },
    );
    expect(errorCode(await app.http().request(VerifyEmailDocument, { token }))).toBe(
      'INVALID_TOKEN',
    );
    const me = await app.http().data(MeDocument, {}, { token: user.auth.accessToken });
    expect(me.me.emailVerified).toBe(false);
  });

  it('should refuse malformed tokens with INVALID_TOKEN', async () => {
    for (const token of ['', 'short', 'x'.repeat(43).replace(/x/g, '!'), 'A'.repeat(500)]) {
      const result = await app.http().request(VerifyEmailDocument, { token });
      expect(errorCode(result)).toBe('INVALID_TOKEN');
    }
  });

  it('should refuse a malformed address with BAD_USER_INPUT', async () => {
    const result = await app
      .http()
      .request(ResendVerificationEmailDocument, { email: 'not an address' });
    expect(errorCode(result)).toBe('BAD_USER_INPUT');
  });

  it('should deliver, once, a verification mail the SMTP server refused with a 451 at first', async () => {
    app.mail.refuseNext = 1;
    const user = await registerUser(app);
    expect(user.auth.accessToken).toBeTruthy();
    const token = await verificationToken(user.email);
    await app.app.outbox.drain();
    expect(app.mail.refuseNext).toBe(0);
    expect(app.mail.to(user.email)).toHaveLength(1);
    expect((await app.http().data(VerifyEmailDocument, { token })).verifyEmail.emailVerified).toBe(
      true,
    );
  });
});

describe('password reset', () => {
  const app = useTestApp();

  const resetToken = async (email: string) => {
    const mail = await app.mail.waitFor((m) => m.to.includes(email) && /reset/i.test(m.subject));
    return tokenFromMail(mail, '/reset-password');
  };

  it('should reset the password from the mailed link, end every session and send a notice', async () => {
    const user = await registerUser(app);
    const second = await loginUser(app, user);
    expect(
      (await app.http().data(ForgotPasswordDocument, { email: user.email.toUpperCase() }))
        .forgotPassword,
    ).toBe(true);
    const token = await resetToken(user.email);
    expect((await app.http().data(ResetPasswordDocument, resetInput(token))).resetPassword).toBe(
      true,
    );

    for (const auth of [user.auth, second]) {
      expect(errorCode(await app.http().request(MeDocument, {}, { token: auth.accessToken }))).toBe(
        'UNAUTHENTICATED',
      );
      const refresh = await app
        .http()
        .request(RefreshSessionDocument, { refreshToken: auth.refreshToken });
      expect(errorCode(refresh)).toBe('INVALID_TOKEN');
    }
    const old = await app
      .http()
      .request(LoginDocument, { input: { email: user.email, password: user.password } });
    expect(errorCode(old)).toBe('INVALID_CREDENTIALS');
    await expect(
      loginUser(app, { email: user.email, password: NEW_PASSWORD }),
    ).resolves.toBeTruthy();
    await app.mail.waitFor(
      (m) => m.to.includes(user.email) && /password was changed/i.test(m.subject),
    );
    expect(
      errorCode(
        await app.http().request(ResetPasswordDocument, resetInput(token, 'another-Fresh-81-pass')),
      ),
    ).toBe('INVALID_TOKEN');
  });

  it('should give exactly one success to sixteen concurrent resets with one token', async () => {
    const user = await registerUser(app);
    await app.http().data(ForgotPasswordDocument, { email: user.email });
    const token = await resetToken(user.email);
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        app.http().request(ResetPasswordDocument, resetInput(token, `${NEW_PASSWORD}-${i}`)),
      ),
    );
    expect(results.filter((result) => result.data?.resetPassword === true)).toHaveLength(1);
    expect(results.filter((result) => errorCode(result) === 'INVALID_TOKEN')).toHaveLength(15);
  });

  it('should answer the same for an unknown address and mail nobody', async () => {
    const unknown = uniqueEmail();
    const known = await registerUser(app);
    const a = await app.http().request(ForgotPasswordDocument, { email: unknown });
    const b = await app.http().request(ForgotPasswordDocument, { email: known.email });
    expect(a.data).toEqual(b.data);
    expect(a.errors).toEqual(b.errors);
    await app.app.outbox.drain();
    expect(app.mail.to(unknown)).toHaveLength(0);
    expect(app.mail.to(known.email).filter((m) => /reset/i.test(m.subject))).toHaveLength(1);
  });

  it('should answer before the mail is sent, so a slow SMTP server does not reveal which addresses exist', async () => {
    const user = await registerUser(app);
    await app.app.outbox.drain();
    app.mail.delayMs = 1_500;
    try {
      const started = Date.now();
      await app.http().data(ForgotPasswordDocument, { email: user.email });
      const answeredAfter = Date.now() - started;
      // The SMTP server holds the mail 1.5 s; an answer that waited for it would take longer.
      expect(answeredAfter).toBeLessThan(1_000);
      await resetToken(user.email);
    } finally {
      app.mail.delayMs = 0;
    }
  });

  it('should not accept a verification token as a reset token, nor the reverse', async () => {
    const user = await registerUser(app);
    const verifyMail = await app.mail.waitFor(
      (m) => m.to.includes(user.email) && /confirm/i.test(m.subject),
    );
    const verificationToken = tokenFromMail(verifyMail, '/verify-email');
    expect(
      errorCode(await app.http().request(ResetPasswordDocument, resetInput(verificationToken))),
    ).toBe('INVALID_TOKEN');

    await app.http().data(ForgotPasswordDocument, { email: user.email });
    const reset = await resetToken(user.email);
    expect(errorCode(await app.http().request(VerifyEmailDocument, { token: reset }))).toBe(
      'INVALID_TOKEN',
    );
    expect(await loginUser(app, user)).toBeTruthy();
  });

  it('should refuse an expired reset token', async () => {
    const user = await registerUser(app);
    await app.http().data(ForgotPasswordDocument, { email: user.email });
    const token = await resetToken(user.email);
    await app.app.models.EmailToken.updateMany(
      { purpose: EmailTokenPurpose.RESET_PASSWORD },
      { $set: { expiresAt: new Date(Date.now() - 1) } },
    );
    expect(errorCode(await app.http().request(ResetPasswordDocument, resetInput(token)))).toBe(
      'INVALID_TOKEN',
    );
    expect(await loginUser(app, user)).toBeTruthy();
  });

  it('should validate the new password before using up the token', async () => {
    const user = await registerUser(app);
    await app.http().data(ForgotPasswordDocument, { email: user.email });
    const token = await resetToken(user.email);
    const mismatch = await app.http().request(ResetPasswordDocument, {
      input: { token, newPassword: NEW_PASSWORD, confirmNewPassword: `${NEW_PASSWORD}!` },
    });
    expect(errorCode(mismatch)).toBe('BAD_USER_INPUT');
    const common = await app.http().request(ResetPasswordDocument, resetInput(token, 'iloveyou'));
    expect(errorCode(common)).toBe('BAD_USER_INPUT');
    expect((await app.http().data(ResetPasswordDocument, resetInput(token))).resetPassword).toBe(
      true,
    );
  });
});

describe('password change', () => {
  const app = useTestApp();

  const changeInput = (currentPassword: string, password = NEW_PASSWORD) => ({
    input: { currentPassword, newPassword: password, confirmNewPassword: password },
  });

  it('should change the password, keep this session, end the others and send a notice', async () => {
    const user = await registerUser(app);
    const other = await loginUser(app, user);
    const { changePassword } = await app
      .http()
      .data(ChangePasswordDocument, changeInput(user.password), { token: user.auth.accessToken });
    expect(changePassword).toBe(true);
    expect(
      (await app.http().request(MeDocument, {}, { token: user.auth.accessToken })).errors,
    ).toBeUndefined();
    expect(errorCode(await app.http().request(MeDocument, {}, { token: other.accessToken }))).toBe(
      'UNAUTHENTICATED',
    );
    expect(
      errorCode(
        await app.http().request(RefreshSessionDocument, { refreshToken: other.refreshToken }),
      ),
    ).toBe('INVALID_TOKEN');
    await expect(
      loginUser(app, { email: user.email, password: NEW_PASSWORD }),
    ).resolves.toBeTruthy();
    await app.mail.waitFor(
      (m) => m.to.includes(user.email) && /password was changed/i.test(m.subject),
    );
  });

  it('should refuse a wrong current password with INVALID_CREDENTIALS and change nothing', async () => {
    const user = await registerUser(app);
    const result = await app
      .http()
      .request(ChangePasswordDocument, changeInput('not-my-password'), {
        token: user.auth.accessToken,
      });
    expect(errorCode(result)).toBe('INVALID_CREDENTIALS');
    await expect(loginUser(app, user)).resolves.toBeTruthy();
  });

  it('should refuse the same password, a mismatch and a common one with BAD_USER_INPUT', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const same = await app
      .http()
      .request(ChangePasswordDocument, changeInput(user.password, user.password), { token });
    expect(same.errors?.[0]?.extensions?.fields).toHaveProperty('newPassword');
    const mismatch = await app.http().request(
      ChangePasswordDocument,
      {
        input: {
          currentPassword: user.password,
          newPassword: NEW_PASSWORD,
          confirmNewPassword: 'nope-nope-nope',
        },
      },
      { token },
    );
    expect(mismatch.errors?.[0]?.extensions?.fields).toHaveProperty('confirmNewPassword');
    const common = await app
      .http()
      .request(ChangePasswordDocument, changeInput(user.password, 'qwertyuiop'), { token });
    expect(errorCode(common)).toBe('BAD_USER_INPUT');
    expect(
      errorCode(await app.http().request(ChangePasswordDocument, changeInput(user.password))),
    ).toBe('UNAUTHENTICATED');
  });
});

describe('mail limits', () => {
  const app = useTestApp({
    rateLimits: {
      mailPerAddressPerMinute: DEFAULT_RATE_LIMITS.mailPerAddressPerMinute,
      mailPerAddressPerHour: DEFAULT_RATE_LIMITS.mailPerAddressPerHour,
    },
  });

  it('should send one mail a minute per address and answer true to the rest, counting aliases in one document one by one', async () => {
    const email = uniqueEmail();
    await app.app.models.User.create({
      email,
      passwordHash: 'unused',
      firstName: 'A',
      lastName: 'B',
      emailVerified: true,
      metadata: {},
    });
    const result = await app
      .http()
      .raw(
        `mutation { a: forgotPassword(email: "${email}") b: forgotPassword(email: "${email}") }`,
      );
    // A refusal would tell the caller that this address has an account: both answer true.
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ a: true, b: true });
    await app.mail.waitFor((mail) => mail.to.includes(email));
    await sleep(300);
    expect(app.mail.to(email)).toHaveLength(1);
  });

  it('should count the sign-up mail, so a resend right after registering sends nothing for its minute', async () => {
    const user = await registerUser(app, { password: STRONG_PASSWORD });
    await app.mail.waitFor((mail) => mail.to.includes(user.email));
    const resend = await app.http().request(ResendVerificationEmailDocument, { email: user.email });
    expect(resend.errors).toBeUndefined();
    expect(resend.data?.resendVerificationEmail).toBe(true);
    await sleep(300);
    expect(app.mail.to(user.email)).toHaveLength(1);
  });

  it('should count each kind of mail apart: a reset asked for in the first minute after sign-up is sent', async () => {
    const user = await registerUser(app, { password: STRONG_PASSWORD });
    await app.mail.waitFor((mail) => mail.to.includes(user.email));
    await app.http().data(ForgotPasswordDocument, { email: user.email });
    const reset = await app.mail.waitFor(
      (mail) => mail.to.includes(user.email) && /reset/i.test(mail.subject),
    );
    expect(tokenFromMail(reset, '/reset-password')).toBeTruthy();
    // Still one of each kind a minute: a second reset and a resend send nothing.
    await app.http().data(ForgotPasswordDocument, { email: user.email });
    await app.http().data(ResendVerificationEmailDocument, { email: user.email });
    await sleep(300);
    expect(app.mail.to(user.email)).toHaveLength(2);
  });
});
