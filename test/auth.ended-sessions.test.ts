import { setTimeout as sleep } from 'node:timers/promises';
import { Types } from 'mongoose';
import {
  ChangePasswordDocument,
  CreateChatDocument,
  DeleteAccountDocument,
  EditMessageDocument,
  ForgotPasswordDocument,
  LoginDocument,
  LogoutAllSessionsDocument,
  MeDocument,
  RefreshSessionDocument,
  ResetPasswordDocument,
  SendMessageDocument,
  ShareChatDocument,
} from './gql/graphql';
import { loginUser, registerUser, type TestUser } from './helpers/accounts';
import { sendMessage, streamToEnd } from './helpers/chat';
import { errorCode } from './helpers/http-client';
import { tokenFromMail } from './helpers/smtp-capture';
import { useTestApp } from './helpers/test-app';

/**
 * Ending sessions sticks (CONTRACT, conformance): a sign-in or refresh that races a password
 * change, a reset, logoutAllSessions or deleteAccount never outlives it, and deleteAccount
 * leaves nothing of the account behind whatever other devices write meanwhile. Each race sends
 * many requests spread over the window the ending takes, over several trials.
 */
const TRIALS = 3;
const RACERS = 12;
/** Racers start from a little before the ending to well after it has begun. */
const SPREAD_MS = (i: number) => i * 7 - 10;

describe('ending sessions while sign-ins race it', () => {
  const app = useTestApp();
  const sessionsOf = (userId: string) =>
    app.connection.connection
      .collection('sessions')
      .countDocuments({ userId: new Types.ObjectId(userId) });

  /** Logins with `password`, spread around `end()`; the ones that got tokens, in answer order. */
  async function raceLogins(user: TestUser, password: string, end: () => Promise<unknown>) {
    const answered: Array<{ accessToken: string; refreshToken: string; at: number }> = [];
    const logins = Array.from({ length: RACERS }, async (_, i) => {
      await sleep(SPREAD_MS(i) + 10);
      const response = await app
        .http()
        .request(LoginDocument, { input: { email: user.email, password } });
      if (response.data?.login) answered.push({ ...response.data.login, at: Date.now() });
    });
    await sleep(10);
    const ending = end();
    const [endedAt] = await Promise.all([ending.then(() => Date.now()), ...logins]);
    return { answered, endedAt };
  }

  /** Every token pair given out must be dead: no call, no refresh. */
  async function expectDead(pairs: Array<{ accessToken: string; refreshToken: string }>) {
    for (const pair of pairs) {
      expect(errorCode(await app.http().request(MeDocument, {}, { token: pair.accessToken }))).toBe(
        'UNAUTHENTICATED',
      );
      expect(
        errorCode(
          await app.http().request(RefreshSessionDocument, { refreshToken: pair.refreshToken }),
        ),
      ).toMatch(/INVALID_TOKEN|UNAUTHENTICATED/);
    }
  }

  it('should not let a sign-in with the old password outlive a password change that races it', async () => {
    let signedIn = 0;
    for (let trial = 0; trial < TRIALS; trial += 1) {
      const user = await registerUser(app);
      const newPassword = `${user.password}-new`;
      const { answered } = await raceLogins(user, user.password, () =>
        app.http().data(
          ChangePasswordDocument,
          {
            input: { currentPassword: user.password, newPassword, confirmNewPassword: newPassword },
          },
          { token: user.auth.accessToken },
        ),
      );
      signedIn += answered.length;
      await expectDead(answered);
      // Only the session that changed the password is left.
      expect(await sessionsOf(user.auth.user.id)).toBe(1);
      expect((await app.http().data(MeDocument, {}, { token: user.auth.accessToken })).me.id).toBe(
        user.auth.user.id,
      );
    }
    console.log(`password change race: ${signedIn} sign-ins answered with tokens, all ended`);
  }, 60_000);

  it('should not let a sign-in with the old password outlive a reset that races it', async () => {
    for (let trial = 0; trial < TRIALS; trial += 1) {
      const user = await registerUser(app);
      await app.http().data(ForgotPasswordDocument, { email: user.email });
      const mail = await app.mail.waitFor(
        (m) => m.to.includes(user.email) && /reset/i.test(m.subject),
      );
      const token = tokenFromMail(mail, '/reset-password');
      const newPassword = `${user.password}-reset`;
      const { answered } = await raceLogins(user, user.password, () =>
        app.http().data(ResetPasswordDocument, {
          input: { token, newPassword, confirmNewPassword: newPassword },
        }),
      );
      await expectDead(answered);
      await expectDead([user.auth]);
      expect(await sessionsOf(user.auth.user.id)).toBe(0);
    }
  }, 60_000);

  it('should end every sign-in and refresh that answered before logoutAllSessions did', async () => {
    for (let trial = 0; trial < TRIALS; trial += 1) {
      const user = await registerUser(app);
      const other = await loginUser(app, user);
      const refreshes = Array.from({ length: 4 }, async (_, i) => {
        await sleep(i * 15);
        const response = await app
          .http()
          .request(RefreshSessionDocument, { refreshToken: other.refreshToken });
        return response.data?.refreshSession
          ? { ...response.data.refreshSession, at: Date.now() }
          : null;
      });
      const { answered, endedAt } = await raceLogins(user, user.password, () =>
        app.http().data(LogoutAllSessionsDocument, {}, { token: user.auth.accessToken }),
      );
      const refreshed = (await Promise.all(refreshes)).filter((pair) => pair !== null);
      // A sign-in answered after the sign-out answered may be a new one: it is not a racer.
      await expectDead([...answered, ...refreshed].filter(({ at }) => at < endedAt));
      await expectDead([user.auth, other]);
    }
  }, 60_000);

  it('should not let a sign-in outlive deleteAccount, nor let it create anything', async () => {
    for (let trial = 0; trial < TRIALS; trial += 1) {
      const user = await registerUser(app);
      const { answered } = await raceLogins(user, user.password, () =>
        app
          .http()
          .data(
            DeleteAccountDocument,
            { password: user.password },
            { token: user.auth.accessToken },
          ),
      );
      for (const pair of answered) {
        expect(
          errorCode(await app.http().request(CreateChatDocument, {}, { token: pair.accessToken })),
        ).toBe('UNAUTHENTICATED');
      }
      await expectDead(answered);
      expect(await sessionsOf(user.auth.user.id)).toBe(0);
      expect(
        await app.connection.connection
          .collection('chats')
          .countDocuments({ userId: new Types.ObjectId(user.auth.user.id) }),
      ).toBe(0);
    }
  }, 60_000);
});

describe('deleting an account while another device writes', () => {
  const app = useTestApp({ chat: { echoWordDelayMs: 20 } });
  const left = async (userId: string) => {
    const owner = new Types.ObjectId(userId);
    const counts: Record<string, number> = {};
    for (const collection of ['chats', 'messages', 'chat_shares', 'sessions', 'email_tokens']) {
      counts[collection] = await app.connection.connection
        .collection(collection)
        .countDocuments({ userId: owner });
    }
    return counts;
  };

  it('should leave no chat, message, link, session or STREAMING reply of the account', async () => {
    app.openai.defaultReply = { chunks: ['one ', 'two ', 'three'], delayMs: 30 };
    for (let trial = 0; trial < TRIALS; trial += 1) {
      const user = await registerUser(app);
      const device = await loginUser(app, user);
      const token = device.accessToken;
      const first = await sendMessage(app, token, { prompt: 'to edit and share' });
      const socket = app.socket(token);
      await streamToEnd(socket, first.assistantMessage.id);
      await socket.dispose();

      const writes: Array<() => Promise<unknown>> = [
        ...Array.from(
          { length: 4 },
          () => () => app.http().request(CreateChatDocument, {}, { token }),
        ),
        ...Array.from(
          { length: 3 },
          () => () =>
            app.http().request(SendMessageDocument, { input: { prompt: 'new chat' } }, { token }),
        ),
        ...Array.from(
          { length: 2 },
          (_, i) => () =>
            app
              .http()
              .request(
                EditMessageDocument,
                { input: { messageId: first.userMessage.id, prompt: `edited ${i}` } },
                { token },
              ),
        ),
        ...Array.from(
          { length: 2 },
          () => () => app.http().request(ShareChatDocument, { id: first.chat.id }, { token }),
        ),
      ];
      const racing = writes.map(async (write, i) => {
        await sleep(i * 6);
        return write();
      });
      await sleep(15);
      await app
        .http()
        .data(DeleteAccountDocument, { password: user.password }, { token: user.auth.accessToken });
      await Promise.all(racing);
      // Replies that started stop with their chat; give a takeback in flight its turn.
      await sleep(300);
      expect(await left(user.auth.user.id)).toEqual({
        chats: 0,
        messages: 0,
        chat_shares: 0,
        sessions: 0,
        email_tokens: 0,
      });
      expect(
        await app.connection.connection
          .collection('messages')
          .countDocuments({ chatId: new Types.ObjectId(first.chat.id) }),
      ).toBe(0);
    }
  }, 60_000);
});
