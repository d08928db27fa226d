import {
  ChangePasswordDocument,
  ForgotPasswordDocument,
  LoginDocument,
  MeDocument,
  RefreshSessionDocument,
  RegisterDocument,
  ResetPasswordDocument,
  SessionsDocument,
  VerifyEmailDocument,
} from './gql/graphql';
import { uniqueEmail } from './helpers/accounts';
import { errorCode } from './helpers/http-client';
import { tokenFromMail } from './helpers/smtp-capture';
import { useTestApp } from './helpers/test-app';

/**
 * The accounts issue's acceptance path, as a client with no knowledge of the code walks it:
 * every step through the public API, tokens read from the mails that arrived.
 */
describe('an account from sign-up to password reset', () => {
  const app = useTestApp();

  it('should register, verify, use two devices, change and reset the password', async () => {
    const http = app.http();
    const email = uniqueEmail('journey');
    const firstPassword = 'saffron-Tundra-24-beacon';

    // Register on the first device; the verification link arrives by mail.
    const { register: laptop } = await http.data(
      RegisterDocument,
      {
        input: {
          email,
          password: firstPassword,
          confirmPassword: firstPassword,
          firstName: 'Jo',
          lastName: 'Doe',
        },
      },
      { headers: { 'user-agent': 'Laptop' } },
    );
    const verifyMail = await app.mail.waitFor(
      (m) => m.to.includes(email) && /confirm/i.test(m.subject),
    );
    const { verifyEmail } = await http.data(VerifyEmailDocument, {
      token: tokenFromMail(verifyMail, '/verify-email'),
    });
    expect(verifyEmail.emailVerified).toBe(true);

    // Sign in on a second device: two sessions.
    const { login: phone } = await http.data(
      LoginDocument,
      { input: { email, password: firstPassword } },
      { headers: { 'user-agent': 'Phone' } },
    );
    const { sessions } = await http.data(SessionsDocument, {}, { token: laptop.accessToken });
    expect(sessions.map((s) => s.userAgent).sort()).toEqual(['Laptop', 'Phone']);

    // The phone keeps a socket open.
    const phoneSocket = app.socket(phone.accessToken);
    await phoneSocket.connected;

    // Change the password on the laptop: the phone is out at once, on HTTP and on its socket.
    const secondPassword = 'indigo-Quarry-71-lattice';
    await http.data(
      ChangePasswordDocument,
      {
        input: {
          currentPassword: firstPassword,
          newPassword: secondPassword,
          confirmNewPassword: secondPassword,
        },
      },
      { token: laptop.accessToken },
    );
    expect(errorCode(await http.request(MeDocument, {}, { token: phone.accessToken }))).toBe(
      'UNAUTHENTICATED',
    );
    expect((await phoneSocket.nextClose()).code).toBe(4403);
    await phoneSocket.dispose();

    // Forgot the password: the reset link arrives, and using it ends every session.
    await http.data(ForgotPasswordDocument, { email });
    const resetMail = await app.mail.waitFor(
      (m) => m.to.includes(email) && /reset/i.test(m.subject),
    );
    const finalPassword = 'coral-Summit-39-harvest';
    await http.data(ResetPasswordDocument, {
      input: {
        token: tokenFromMail(resetMail, '/reset-password'),
        newPassword: finalPassword,
        confirmNewPassword: finalPassword,
      },
    });
    for (const refreshToken of [laptop.refreshToken, phone.refreshToken]) {
      expect(errorCode(await http.request(RefreshSessionDocument, { refreshToken }))).toBe(
        'INVALID_TOKEN',
      );
    }
    expect(
      errorCode(await http.request(LoginDocument, { input: { email, password: secondPassword } })),
    ).toBe('INVALID_CREDENTIALS');
    const { login } = await http.data(LoginDocument, { input: { email, password: finalPassword } });
    expect(login.user.email).toBe(email);
  });
});
