import { Types } from 'mongoose';
import {
  ChatSharesDocument,
  DeleteChatDocument,
  EditMessageDocument,
  ShareChatDocument,
  SharedChatDocument,
  UnshareChatDocument,
  UpdateChatDocument,
} from './gql/graphql';
import { registerUser, type TestUser } from './helpers/accounts';
import { sendMessage, streamToEnd } from './helpers/chat';
import { errorCode } from './helpers/http-client';
import { APP_URL, TestApp, useTestApp } from './helpers/test-app';

/** Read-only links to a snapshot of a chat: public, exact, private, revocable. */
describe('shared links', () => {
  const app = useTestApp();

  async function chatWith(user: TestUser, exchanges: Array<[string, string]>) {
    let chatId: string | undefined;
    const ids: string[] = [];
    for (const [prompt, reply] of exchanges) {
      app.openai.enqueue({ chunks: [reply] });
      const sent = await sendMessage(app, user.auth.accessToken, { prompt, chatId });
      chatId = sent.chat.id;
      ids.push(sent.userMessage.id, sent.assistantMessage.id);
      const socket = app.socket(user.auth.accessToken);
      await streamToEnd(socket, sent.assistantMessage.id);
      await socket.dispose();
    }
    return { chatId: chatId!, ids };
  }

  const share = async (user: TestUser, id: string) =>
    (await app.http().data(ShareChatDocument, { id }, { token: user.auth.accessToken })).shareChat;

  /** As a reader with the link and no account does it. */
  const readShared = (token: string) => app.http().request(SharedChatDocument, { token });

  it('should show exactly the active branch at sharing time to anyone, and nothing private', async () => {
    const user = await registerUser(app);
    const { chatId, ids } = await chatWith(user, [
      ['Plan a picnic', 'Bring bread'],
      ['And drinks?', 'Lemonade'],
    ]);
    // A second branch that is not the one shown must not leak into the link.
    app.openai.enqueue({ chunks: ['Tea'] });
    const edited = await app
      .http()
      .data(
        EditMessageDocument,
        { input: { messageId: ids[2]!, prompt: 'Hot drinks?' } },
        { token: user.auth.accessToken },
      );
    const socket = app.socket(user.auth.accessToken);
    await streamToEnd(socket, edited.editMessage.assistantMessage.id);
    await socket.dispose();
    await app.http().data(
      UpdateChatDocument,
      {
        id: chatId,
        input: {
          title: 'Picnic',
          tags: ['private-tag'],
          systemInstructions: 'secret instructions',
        },
      },
      { token: user.auth.accessToken },
    );

    const link = await share(user, chatId);
    expect(link.token).toMatch(/^[A-Za-z0-9_-]{43,}$/); // ≥ 256 bits, base64url
    expect(link.url).toBe(`${APP_URL}/share/${link.token}`);
    expect(link.messageCount).toBe(4);

    const read = await readShared(link.token);
    expect(read.errors).toBeUndefined();
    expect(read.data!.sharedChat.title).toBe('Picnic');
    expect(read.data!.sharedChat.messages.map((m) => `${m.role}: ${m.content}`)).toEqual([
      'USER: Plan a picnic',
      'ASSISTANT: Bring bread',
      'USER: Hot drinks?',
      'ASSISTANT: Tea',
    ]);

    // Every field the schema lets a reader ask for, through an alias and a fragment.
    const everything = await app.http().raw(
      `query R($t: String!) { shown: sharedChat(token: $t) { ...All } }
       fragment All on SharedChat { __typename title createdAt messages { __typename role content createdAt } }`,
      { t: link.token },
    );
    const json = JSON.stringify(everything);
    for (const secret of [
      user.email,
      user.auth.user.id,
      chatId,
      ...ids,
      'userId',
      'email',
      'metadata',
      'secret instructions',
      'private-tag',
      'Lemonade',
    ]) {
      expect(json).not.toContain(secret);
    }
  });

  it('should keep a snapshot as it was, and make a new one on sharing again', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const { chatId } = await chatWith(user, [['First', 'One']]);
    await app
      .http()
      .data(UpdateChatDocument, { id: chatId, input: { title: 'Before' } }, { token });
    const before = await share(user, chatId);
    app.openai.enqueue({ chunks: ['Two'] });
    const later = await sendMessage(app, token, { chatId, prompt: 'Second' });
    const socket = app.socket(token);
    await streamToEnd(socket, later.assistantMessage.id);
    await socket.dispose();
    await app
      .http()
      .data(UpdateChatDocument, { id: chatId, input: { title: 'Renamed' } }, { token });

    const old = await readShared(before.token);
    expect(old.data!.sharedChat.title).toBe('Before');
    expect(old.data!.sharedChat.messages).toHaveLength(2);
    const after = await share(user, chatId);
    expect(after.token).not.toBe(before.token);
    expect(after.messageCount).toBe(4);
    expect((await readShared(after.token)).data!.sharedChat).toMatchObject({
      title: 'Renamed',
      messages: [
        { content: 'First' },
        { content: 'One' },
        { content: 'Second' },
        { content: 'Two' },
      ],
    });
    const listed = (await app.http().data(ChatSharesDocument, { chatId }, { token })).chatShares;
    expect(listed.map((s) => [s.id, s.token, s.url, s.messageCount])).toEqual([
      [after.id, after.token, after.url, 4],
      [before.id, before.token, before.url, 2],
    ]);
  });

  it('should store the token only as a hash', async () => {
    const user = await registerUser(app);
    const { chatId } = await chatWith(user, [['hash me', 'ok']]);
    const link = await share(user, chatId);
    const stored = await app.connection.connection.collection('chat_shares').find({}).toArray();
    expect(stored.length).toBeGreaterThan(0);
    expect(JSON.stringify(stored)).not.toContain(link.token);
  });

  it('should stop a link when it is revoked, when the chat is deleted, and when the account is gone', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const { chatId } = await chatWith(user, [['revoke me', 'ok']]);
    const [kept, revoked] = [await share(user, chatId), await share(user, chatId)];

    expect(
      (await app.http().data(UnshareChatDocument, { shareId: revoked.id }, { token })).unshareChat,
    ).toBe(true);
    expect(errorCode(await readShared(revoked.token))).toBe('NOT_FOUND');
    expect(errorCode(await readShared(kept.token))).toBeUndefined();
    expect(
      errorCode(await app.http().request(UnshareChatDocument, { shareId: revoked.id }, { token })),
    ).toBe('NOT_FOUND');
    const listed = (await app.http().data(ChatSharesDocument, { chatId }, { token })).chatShares;
    expect(listed.map((s) => s.id)).toEqual([kept.id]);

    await app.http().data(DeleteChatDocument, { id: chatId }, { token });
    expect(errorCode(await readShared(kept.token))).toBe('NOT_FOUND');
    expect(
      await app.connection.connection
        .collection('chat_shares')
        .countDocuments({ chatId: new Types.ObjectId(chatId) }),
    ).toBe(0);

    // An account that is gone (removed by an operator: there is no self-service deletion yet)
    // takes its links with it.
    const leaving = await registerUser(app);
    const other = await chatWith(leaving, [['bye', 'bye']]);
    const link = await share(leaving, other.chatId);
    expect(errorCode(await readShared(link.token))).toBeUndefined();
    await app.connection.connection
      .collection('users')
      .deleteOne({ _id: new Types.ObjectId(leaving.auth.user.id) });
    expect(errorCode(await readShared(link.token))).toBe('NOT_FOUND');
  });

  it("should answer NOT_FOUND for another user's chat or share, and leave them working", async () => {
    const owner = await registerUser(app);
    const stranger = await registerUser(app);
    const token = stranger.auth.accessToken;
    const { chatId } = await chatWith(owner, [['mine', 'ok']]);
    const link = await share(owner, chatId);
    for (const result of [
      await app.http().request(ShareChatDocument, { id: chatId }, { token }),
      await app.http().request(ChatSharesDocument, { chatId }, { token }),
      await app.http().request(UnshareChatDocument, { shareId: link.id }, { token }),
      await app.http().request(UnshareChatDocument, { shareId: 'nonsense' }, { token }),
    ]) {
      expect(errorCode(result)).toBe('NOT_FOUND');
    }
    expect(errorCode(await readShared(link.token))).toBeUndefined();
    const ownerList = await app
      .http()
      .data(ChatSharesDocument, { chatId }, { token: owner.auth.accessToken });
    expect(ownerList.chatShares).toHaveLength(1);
    // Signing in is needed for everything but reading a link.
    expect(errorCode(await app.http().request(ShareChatDocument, { id: chatId }))).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('should answer an unknown, revoked or malformed token with the same database work as a known one', async () => {
    const user = await registerUser(app);
    const { chatId } = await chatWith(user, [['time me', 'ok']]);
    const known = await share(user, chatId);
    const revoked = await share(user, chatId);
    await app
      .http()
      .data(UnshareChatDocument, { shareId: revoked.id }, { token: user.auth.accessToken });
    const commands = async (token: string) =>
      (await app.countCommands(() => readShared(token))).names.sort();
    const reference = await commands(known.token);
    expect(reference.length).toBeGreaterThan(0);
    for (const token of [revoked.token, 'A'.repeat(43), 'not a token', '']) {
      expect(await commands(token)).toEqual(reference);
      expect(errorCode(await readShared(token))).toBe('NOT_FOUND');
    }
  });

  it('should revoke a link once when it is unshared several times at once', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const { chatId } = await chatWith(user, [['race me', 'ok']]);
    const links = await Promise.all([1, 2, 3].map(() => share(user, chatId)));
    expect(new Set(links.map((link) => link.token)).size).toBe(3);
    const results = await Promise.all(
      [1, 2, 3, 4].map(() =>
        app.http().request(UnshareChatDocument, { shareId: links[0]!.id }, { token }),
      ),
    );
    const outcomes = results.map((result) => errorCode(result) ?? 'revoked').sort();
    expect(outcomes).toEqual(['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', 'revoked']);
    expect(errorCode(await readShared(links[0]!.token))).toBe('NOT_FOUND');
    for (const link of links.slice(1))
      expect(errorCode(await readShared(link.token))).toBeUndefined();
  });

  it('should make exactly 20 live links of a chat when 30 are asked for at once, over several trials', async () => {
    for (let trial = 0; trial < 3; trial += 1) {
      const user = await registerUser(app);
      const token = user.auth.accessToken;
      const { chatId } = await chatWith(user, [['cap me', 'ok']]);
      const results = await Promise.all(
        Array.from({ length: 30 }, () =>
          app.http().request(ShareChatDocument, { id: chatId }, { token }),
        ),
      );
      const made = results.filter((result) => result.data?.shareChat).length;
      const refused = results.filter((result) => errorCode(result) === 'BAD_USER_INPUT').length;
      // Exactly the limit: none over it, and none refused below it.
      expect({ made, refused }).toEqual({ made: 20, refused: 10 });
      const stored = await app.connection.connection
        .collection('chat_shares')
        .countDocuments({ chatId: new Types.ObjectId(chatId) });
      expect(stored).toBe(20);
      // At the cap it is refused; once a link is revoked, sharing works again.
      const listed = await app.http().data(ChatSharesDocument, { chatId }, { token });
      expect(listed.chatShares).toHaveLength(20);
      const refusal = await app.http().request(ShareChatDocument, { id: chatId }, { token });
      expect(errorCode(refusal)).toBe('BAD_USER_INPUT');
      expect(refusal.errors![0]!.message).toMatch(/at most 20 live links/);
      await app.http().data(UnshareChatDocument, { shareId: listed.chatShares[0]!.id }, { token });
      expect((await share(user, chatId)).token).toBeTruthy();
    }
  }, 60_000);

  it('should keep at most 200 live links per user, and page chatShares', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const chats: string[] = [];
    for (let i = 0; i < 10; i += 1)
      chats.push((await chatWith(user, [[`chat ${i}`, 'ok']])).chatId);
    for (const chatId of chats.slice(0, 9)) {
      await Promise.all(Array.from({ length: 20 }, () => share(user, chatId)));
    }
    // 180 live: of 30 asked for at once across two chats, exactly 20 are made.
    const extra = (await chatWith(user, [['one more', 'ok']])).chatId;
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        app.http().request(ShareChatDocument, { id: i % 2 ? extra : chats[9]! }, { token }),
      ),
    );
    expect(results.filter((result) => result.data?.shareChat)).toHaveLength(20);
    const refusal = results.find((result) => errorCode(result) === 'BAD_USER_INPUT')!;
    expect(refusal.errors![0]!.message).toMatch(/at most 200 live links/);
    expect(
      await app.connection.connection
        .collection('chat_shares')
        .countDocuments({ userId: new Types.ObjectId(user.auth.user.id) }),
    ).toBe(200);

    const page = (variables: Record<string, unknown>) =>
      app
        .http()
        .request(ChatSharesDocument, { chatId: chats[0]!, ...variables } as never, { token });
    const all = (await page({})).data!.chatShares.map((link) => link.id);
    expect(all).toHaveLength(20);
    const second = (await page({ limit: 5, skip: 5 })).data!.chatShares.map((link) => link.id);
    expect(second).toEqual(all.slice(5, 10));
    expect(errorCode(await page({ limit: 0 }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await page({ limit: 21 }))).toBe('BAD_USER_INPUT');
  }, 120_000);

  it('should rate-limit link reads per client address', async () => {
    const limited = await TestApp.start({
      rateLimits: { sharedChatPerIp: { points: 3, durationSeconds: 60 } },
    });
    try {
      const results = await Promise.all(
        Array.from({ length: 6 }, () =>
          limited.http().request(SharedChatDocument, { token: 'A'.repeat(43) }),
        ),
      );
      const codes = results.map(errorCode).sort();
      expect(codes).toEqual([
        'NOT_FOUND',
        'NOT_FOUND',
        'NOT_FOUND',
        'RATE_LIMITED',
        'RATE_LIMITED',
        'RATE_LIMITED',
      ]);
      const refused = results.find((r) => errorCode(r) === 'RATE_LIMITED')!;
      expect(refused.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
    } finally {
      await limited.stop();
    }
  });
});
