import { setTimeout as sleep } from 'node:timers/promises';
import { Types } from 'mongoose';
import {
  DeleteAccountDocument,
  LoginDocument,
  MeDocument,
  MessageStreamDocument,
  ShareChatDocument,
  SharedChatDocument,
} from './gql/graphql';
import { registerUser } from './helpers/accounts';
import { sendMessage, streamToEnd } from './helpers/chat';
import { errorCode } from './helpers/http-client';
import { useTestApp } from './helpers/test-app';

/** deleteAccount: the password again, then nothing of the account is left, anywhere. */
describe('deleting an account', () => {
  const app = useTestApp();
  const count = (collection: string, filter: Record<string, unknown>) =>
    app.connection.connection.collection(collection).countDocuments(filter);

  it('should refuse a wrong password with INVALID_CREDENTIALS and keep everything', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const refused = await app
      .http()
      .request(DeleteAccountDocument, { password: 'not-the-password-1' }, { token });
    expect(errorCode(refused)).toBe('INVALID_CREDENTIALS');
    expect((await app.http().data(MeDocument, {}, { token })).me.email).toBe(user.email);
    expect(
      errorCode(await app.http().request(DeleteAccountDocument, { password: user.password })),
    ).toBe('UNAUTHENTICATED');
  });

  it('should remove chats, messages, links and sessions, stop a reply being written, and sign out every device', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const userId = new Types.ObjectId(user.auth.user.id);
    app.openai.enqueue({ chunks: ['kept'] });
    const finished = await sendMessage(app, token, { prompt: 'a chat to lose' });
    const socket = app.socket(token);
    await streamToEnd(socket, finished.assistantMessage.id);
    const link = (await app.http().data(ShareChatDocument, { id: finished.chat.id }, { token }))
      .shareChat;
    app.openai.enqueue({ chunks: ['never', 'finished'], stallAfterChunks: 1 });
    const streaming = await sendMessage(app, token, { prompt: 'still writing' });
    const following = socket.subscribe(MessageStreamDocument, {
      messageId: streaming.assistantMessage.id,
    });
    await following.waitForEvents(1);
    const upstream = app.openai.streamingRequests().at(-1)!;

    expect(
      (await app.http().data(DeleteAccountDocument, { password: user.password }, { token }))
        .deleteAccount,
    ).toBe(true);

    expect((await socket.nextClose(3_000)).code).toBe(4403);
    await socket.dispose();
    for (const _ of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) {
      if (upstream.closedAt) break;
      await sleep(50);
    }
    expect(upstream.closedAt).toBeDefined(); // the upstream request was aborted
    expect(errorCode(await app.http().request(MeDocument, {}, { token }))).toBe('UNAUTHENTICATED');
    expect(
      errorCode(
        await app
          .http()
          .request(LoginDocument, { input: { email: user.email, password: user.password } }),
      ),
    ).toBe('INVALID_CREDENTIALS');
    expect(errorCode(await app.http().request(SharedChatDocument, { token: link.token }))).toBe(
      'NOT_FOUND',
    );
    for (const collection of ['chats', 'messages', 'chat_shares', 'sessions', 'email_tokens']) {
      expect({ collection, left: await count(collection, { userId }) }).toEqual({
        collection,
        left: 0,
      });
    }
    expect(await count('users', { _id: userId })).toBe(0);
    // The address is free again.
    const again = await registerUser(app, { email: user.email });
    expect(again.auth.user.id).not.toBe(user.auth.user.id);
  });

  it('should delete once when asked twice at once, answering neither with an internal error', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const results = await Promise.all(
      [1, 2].map(() =>
        app.http().request(DeleteAccountDocument, { password: user.password }, { token }),
      ),
    );
    const outcomes = results.map((result) => errorCode(result) ?? 'deleted');
    expect(outcomes).toContain('deleted');
    for (const outcome of outcomes)
      expect(['deleted', 'UNAUTHENTICATED', 'NOT_FOUND']).toContain(outcome);
    expect(await count('users', { _id: new Types.ObjectId(user.auth.user.id) })).toBe(0);
  });
});
