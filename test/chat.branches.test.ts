import { setTimeout as sleep } from 'node:timers/promises';
import { Types } from 'mongoose';
import {
  ChatBranchDocument,
  ChatEventsDocument,
  DeleteChatDocument,
  EditMessageDocument,
  RegenerateReplyDocument,
  SwitchBranchDocument,
  type ChatBranchQuery,
} from './gql/graphql';
import { registerUser, type TestUser } from './helpers/accounts';
import { sendMessage, streamToEnd, type SendPayload } from './helpers/chat';
import { errorCode } from './helpers/http-client';
import { TestDatabase } from './helpers/database';
import { TestApp, useTestApp } from './helpers/test-app';

type BranchMessage = ChatBranchQuery['chat']['messages'][number];

/**
 * Edit and regenerate as branches: every message has a parent, a chat shows one branch (root
 * to its active leaf), siblings are the versions a client flips through, and the model only
 * ever reads the branch above the prompt it answers.
 */
describe('branches', () => {
  const app = useTestApp();

  /** Sends a prompt with a scripted reply and follows the reply to its end. */
  async function exchange(
    user: TestUser,
    prompt: string,
    reply: string,
    chatId?: string,
  ): Promise<SendPayload> {
    app.openai.enqueue({ chunks: [reply] });
    const payload = await sendMessage(app, user.auth.accessToken, { prompt, chatId });
    await finish(user, payload.assistantMessage.id);
    return payload;
  }

  async function finish(user: TestUser, replyId: string) {
    const socket = app.socket(user.auth.accessToken);
    try {
      return await streamToEnd(socket, replyId);
    } finally {
      await socket.dispose();
    }
  }

  async function branch(user: TestUser, chatId: string): Promise<BranchMessage[]> {
    return (
      await app.http().data(ChatBranchDocument, { id: chatId }, { token: user.auth.accessToken })
    ).chat.messages;
  }

  /** What the fake upstream was sent last, as role: content lines (system left out). */
  const lastHistory = () =>
    app.openai
      .streamingRequests()
      .at(-1)!
      .body.messages.filter((message) => message.role !== 'system')
      .map((message) => `${message.role}: ${message.content}`);

  async function edit(user: TestUser, messageId: string, prompt: string, reply: string) {
    app.openai.enqueue({ chunks: [reply] });
    const payload = (
      await app
        .http()
        .data(
          EditMessageDocument,
          { input: { messageId, prompt } },
          { token: user.auth.accessToken },
        )
    ).editMessage;
    await finish(user, payload.assistantMessage.id);
    return payload;
  }

  async function regenerate(user: TestUser, messageId: string, reply: string) {
    app.openai.enqueue({ chunks: [reply] });
    const payload = (
      await app
        .http()
        .data(RegenerateReplyDocument, { input: { messageId } }, { token: user.auth.accessToken })
    ).regenerateReply;
    await finish(user, payload.assistantMessage.id);
    return payload;
  }

  it('should keep an edited prompt beside the original, with its own reply, and show the new branch', async () => {
    const user = await registerUser(app);
    const first = await exchange(user, 'Name a fruit', 'Apple');
    const second = await exchange(user, 'Another one', 'Banana', first.chat.id);

    const edited = await edit(user, second.userMessage.id, 'Name a vegetable', 'Carrot');
    expect(edited.userMessage).toMatchObject({
      parentId: first.assistantMessage.id,
      content: 'Name a vegetable',
      role: 'USER',
    });
    expect(edited.assistantMessage).toMatchObject({
      parentId: edited.userMessage.id,
      status: 'STREAMING',
    });
    expect(edited.chat.messageCount).toBe(6);
    // The model read the branch above the edited prompt, not the prompt it replaces.
    expect(lastHistory()).toEqual([
      'user: Name a fruit',
      'assistant: Apple',
      'user: Name a vegetable',
    ]);

    const shown = await branch(user, first.chat.id);
    expect(shown.map((m) => m.content)).toEqual([
      'Name a fruit',
      'Apple',
      'Name a vegetable',
      'Carrot',
    ]);
    expect(shown[2]).toMatchObject({
      siblingIds: [second.userMessage.id, edited.userMessage.id],
      siblingIndex: 1,
    });
    expect(shown[0]).toMatchObject({
      parentId: null,
      siblingIds: [first.userMessage.id],
      siblingIndex: 0,
    });
    expect(shown[3]!.siblingIds).toEqual([edited.assistantMessage.id]);
  });

  it('should regenerate a reply as a sibling that answers the same prompt from the same history', async () => {
    const user = await registerUser(app);
    const first = await exchange(user, 'Say hi', 'Hi');
    const second = await exchange(user, 'Say bye', 'Bye', first.chat.id);

    const again = await regenerate(user, second.assistantMessage.id, 'Goodbye');
    expect(again.userMessage.id).toBe(second.userMessage.id);
    expect(again.assistantMessage.parentId).toBe(second.userMessage.id);
    expect(lastHistory()).toEqual(['user: Say hi', 'assistant: Hi', 'user: Say bye']);

    const third = await regenerate(user, second.assistantMessage.id, 'See you');
    const shown = await branch(user, first.chat.id);
    expect(shown.map((m) => m.content)).toEqual(['Say hi', 'Hi', 'Say bye', 'See you']);
    expect(shown[3]).toMatchObject({
      siblingIds: [
        second.assistantMessage.id,
        again.assistantMessage.id,
        third.assistantMessage.id,
      ],
      siblingIndex: 2,
    });
    expect(third.chat.messageCount).toBe(6);
  });

  it('should switch branches, show the deepest latest path, and continue the next prompt from it', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const first = await exchange(user, 'Pick a colour', 'Red');
    const original = await exchange(user, 'Why?', 'Because', first.chat.id);
    const deeper = await exchange(user, 'More?', 'No more', first.chat.id);
    const edited = await edit(user, original.userMessage.id, 'Why not blue?', 'Blue is fine');
    expect((await branch(user, first.chat.id)).map((m) => m.content)).toEqual([
      'Pick a colour',
      'Red',
      'Why not blue?',
      'Blue is fine',
    ]);

    // Back to the original prompt: its branch goes down to its deepest, latest leaf.
    const switched = await app
      .http()
      .data(SwitchBranchDocument, { messageId: original.userMessage.id }, { token });
    expect(switched.switchBranch.id).toBe(first.chat.id);
    const shown = await branch(user, first.chat.id);
    expect(shown.map((m) => m.id)).toEqual([
      first.userMessage.id,
      first.assistantMessage.id,
      original.userMessage.id,
      original.assistantMessage.id,
      deeper.userMessage.id,
      deeper.assistantMessage.id,
    ]);
    expect(shown[2]!.siblingIndex).toBe(0);

    // The next prompt continues from that leaf, and the model never sees the other branch.
    const next = await exchange(user, 'And now?', 'Now this', first.chat.id);
    expect(next.userMessage.parentId).toBe(deeper.assistantMessage.id);
    expect(lastHistory()).toEqual([
      'user: Pick a colour',
      'assistant: Red',
      'user: Why?',
      'assistant: Because',
      'user: More?',
      'assistant: No more',
      'user: And now?',
    ]);

    // Switching to the root follows the most recent child at each step: the edited branch.
    await app.http().data(SwitchBranchDocument, { messageId: edited.userMessage.id }, { token });
    expect((await branch(user, first.chat.id)).at(-1)!.id).toBe(edited.assistantMessage.id);
    // From the root, the latest child at each step: the edit (newer than the original prompt).
    await app.http().data(SwitchBranchDocument, { messageId: first.userMessage.id }, { token });
    expect((await branch(user, first.chat.id)).at(-1)!.id).toBe(edited.assistantMessage.id);
    // From the original prompt, down to the newest leaf under it.
    await app
      .http()
      .data(SwitchBranchDocument, { messageId: original.assistantMessage.id }, { token });
    expect((await branch(user, first.chat.id)).at(-1)!.id).toBe(next.assistantMessage.id);
  });

  it('should page a branch with before, and page nothing from an id on another branch', async () => {
    const user = await registerUser(app);
    const first = await exchange(user, 'one', 'two');
    const second = await exchange(user, 'three', 'four', first.chat.id);
    const edited = await edit(user, second.userMessage.id, 'three, again', 'five');
    const page = await app
      .http()
      .data(
        ChatBranchDocument,
        { id: first.chat.id, limit: 2, before: edited.assistantMessage.id },
        { token: user.auth.accessToken },
      );
    expect(page.chat.messages.map((m) => m.content)).toEqual(['two', 'three, again']);
    const offBranch = await app
      .http()
      .data(
        ChatBranchDocument,
        { id: first.chat.id, before: second.assistantMessage.id },
        { token: user.auth.accessToken },
      );
    expect(offBranch.chat.messages).toEqual([]);
  });

  it('should refuse to branch from a reply still being written with CONFLICT, and a wrong role with BAD_USER_INPUT', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    app.openai.enqueue({ chunks: ['slow', 'er'], stallAfterChunks: 1 });
    const streaming = await sendMessage(app, token, { prompt: 'take your time' });
    const regenerating = await app
      .http()
      .request(
        RegenerateReplyDocument,
        { input: { messageId: streaming.assistantMessage.id } },
        { token },
      );
    expect(errorCode(regenerating)).toBe('CONFLICT');
    const editing = await app
      .http()
      .request(
        EditMessageDocument,
        { input: { messageId: streaming.assistantMessage.id, prompt: 'x' } },
        { token },
      );
    expect(errorCode(editing)).toBe('CONFLICT');
    await app
      .http()
      .raw(
        'mutation { stopGeneration(messageId: "' + streaming.assistantMessage.id + '") { id } }',
        undefined,
        { token },
      );

    const wrongRole = await app
      .http()
      .request(
        EditMessageDocument,
        { input: { messageId: streaming.assistantMessage.id, prompt: 'x' } },
        { token },
      );
    expect(errorCode(wrongRole)).toBe('BAD_USER_INPUT');
    const wrongRoleAgain = await app
      .http()
      .request(
        RegenerateReplyDocument,
        { input: { messageId: streaming.userMessage.id } },
        { token },
      );
    expect(errorCode(wrongRoleAgain)).toBe('BAD_USER_INPUT');
    const empty = await app
      .http()
      .request(
        EditMessageDocument,
        { input: { messageId: streaming.userMessage.id, prompt: '' } },
        { token },
      );
    expect(errorCode(empty)).toBe('BAD_USER_INPUT');
    // The validation each input shares with sendMessage holds for edits and regenerations too.
    const badKey = await app.http().request(
      RegenerateReplyDocument,
      {
        input: { messageId: streaming.assistantMessage.id, clientMessageId: 'no spaces allowed' },
      },
      { token },
    );
    expect(errorCode(badKey)).toBe('BAD_USER_INPUT');
    expect(badKey.errors![0]!.extensions!.fields).toHaveProperty('clientMessageId');
    const tooLong = await app
      .http()
      .request(
        EditMessageDocument,
        { input: { messageId: streaming.userMessage.id, prompt: 'x'.repeat(32_001) } },
        { token },
      );
    expect(errorCode(tooLong)).toBe('BAD_USER_INPUT');
    // Nothing was saved by any refusal.
    expect((await branch(user, streaming.chat.id)).length).toBe(2);
  });

  it('should answer retries of editMessage and regenerateReply with the first payload and one generation, also when sent at once', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const first = await exchange(user, 'Count to two', 'one two');
    const before = app.openai.streamingRequests().length;

    const editInput = {
      messageId: first.userMessage.id,
      prompt: 'Count to three',
      clientMessageId: 'edit-1',
    };
    const edits = await Promise.all(
      [1, 2, 3].map(() => app.http().data(EditMessageDocument, { input: editInput }, { token })),
    );
    const editIds = new Set(edits.map((e) => e.editMessage.assistantMessage.id));
    expect(editIds.size).toBe(1);
    await finish(user, [...editIds][0]!);
    const retried = await app.http().data(EditMessageDocument, { input: editInput }, { token });
    expect(retried.editMessage.userMessage.id).toBe(edits[0]!.editMessage.userMessage.id);

    const regenerateInput = { messageId: first.assistantMessage.id, clientMessageId: 'regen-1' };
    const regenerations = await Promise.all(
      [1, 2, 3].map(() =>
        app.http().data(RegenerateReplyDocument, { input: regenerateInput }, { token }),
      ),
    );
    const replyIds = new Set(regenerations.map((r) => r.regenerateReply.assistantMessage.id));
    expect(replyIds.size).toBe(1);
    await finish(user, [...replyIds][0]!);
    const again = await app
      .http()
      .data(RegenerateReplyDocument, { input: regenerateInput }, { token });
    expect(again.regenerateReply).toMatchObject({
      userMessage: { id: first.userMessage.id },
      assistantMessage: { id: [...replyIds][0] },
    });

    expect(app.openai.streamingRequests().length - before).toBe(2);
    const shown = await branch(user, first.chat.id);
    expect(shown[0]!.siblingIds).toHaveLength(2);
  });

  it('should keep concurrent sends to one chat in one line, never a silent fork', async () => {
    const user = await registerUser(app);
    const first = await exchange(user, 'start', 'started');
    const sends = await Promise.all(
      ['a', 'b', 'c'].map((prompt) =>
        sendMessage(app, user.auth.accessToken, { chatId: first.chat.id, prompt }),
      ),
    );
    await Promise.all(sends.map((sent) => finish(user, sent.assistantMessage.id)));
    const shown = await branch(user, first.chat.id);
    expect(shown).toHaveLength(8);
    for (const [index, message] of shown.entries()) {
      expect(message.siblingIds).toEqual([message.id]);
      expect(message.parentId).toBe(index === 0 ? null : shown[index - 1]!.id);
    }
    expect(
      shown
        .slice(2)
        .filter((m) => m.role === 'USER')
        .map((m) => m.content)
        .sort(),
    ).toEqual(['a', 'b', 'c']);
  });

  it("should name the branch's parent in MESSAGE_ADDED, count every branch, and delete them all", async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const first = await exchange(user, 'root', 'reply');
    const second = await exchange(user, 'leaf', 'leaf reply', first.chat.id);
    const socket = app.socket(token);
    const events = socket.subscribe(ChatEventsDocument, {});
    await socket.connected;
    await sleep(100);
    const raw = await app
      .http()
      .raw<{ editMessage: { userMessage: { id: string } } }>(
        `mutation { editMessage(input: { messageId: "${second.userMessage.id}", prompt: "leaf v2" }) { userMessage { id } } }`,
        undefined,
        { token },
      );
    const newId = raw.data!.editMessage.userMessage.id;
    for (let i = 0; i < 100; i++) {
      if (events.events.some((e) => e.data?.chatEvents.message?.id === newId)) break;
      await sleep(50);
    }
    const added = events.events.find((e) => e.data?.chatEvents.message?.id === newId);
    expect(added?.data?.chatEvents).toMatchObject({
      type: 'MESSAGE_ADDED',
      chatId: first.chat.id,
      message: { parentId: first.assistantMessage.id },
    });
    const withParent = await app
      .http()
      .raw<{ chat: { messageCount: number; messages: Array<{ parentId: string | null }> } }>(
        `{ chat(id: "${first.chat.id}") { messageCount messages { parentId } } }`,
        undefined,
        { token },
      );
    expect(withParent.data!.chat.messageCount).toBe(6);
    await socket.dispose();
    await sleep(200);

    await app.http().data(DeleteChatDocument, { id: first.chat.id }, { token });
    const left = await app.connection.connection
      .collection('messages')
      .countDocuments({ chatId: new Types.ObjectId(first.chat.id) });
    expect(left).toBe(0);
  });

  it("should answer NOT_FOUND for another user's messages, on every branch operation and field", async () => {
    const owner = await registerUser(app);
    const stranger = await registerUser(app);
    const token = stranger.auth.accessToken;
    const first = await exchange(owner, 'mine', 'yours not');
    const attempts = [
      app
        .http()
        .request(
          EditMessageDocument,
          { input: { messageId: first.userMessage.id, prompt: 'x' } },
          { token },
        ),
      app
        .http()
        .request(
          RegenerateReplyDocument,
          { input: { messageId: first.assistantMessage.id } },
          { token },
        ),
      app.http().request(SwitchBranchDocument, { messageId: first.userMessage.id }, { token }),
      app.http().request(ChatBranchDocument, { id: first.chat.id }, { token }),
      app.http().request(SwitchBranchDocument, { messageId: 'not-an-id' }, { token }),
      app
        .http()
        .request(
          SwitchBranchDocument,
          { messageId: new Types.ObjectId().toHexString() },
          { token },
        ),
    ];
    for (const result of await Promise.all(attempts)) expect(errorCode(result)).toBe('NOT_FOUND');
    // The owner's chat is as it was.
    expect((await branch(owner, first.chat.id)).map((m) => m.content)).toEqual([
      'mine',
      'yours not',
    ]);
  });
});

describe('chats written before branches', () => {
  it('should read them as one line after the startup migration, and branch from them', async () => {
    // The documents exactly as the code before branches wrote them: no parentId, no path.
    const db = await TestDatabase.start();
    const first = await TestApp.start({ database: db });
    const user = await registerUser(first);
    const userId = new Types.ObjectId(user.auth.user.id);
    const chatId = new Types.ObjectId();
    const at = (seconds: number) => new Date(Date.UTC(2026, 10, 1, 12, 0, seconds));
    const config = { llm: 'OPEN_AI', chatModel: 'gpt-test' };
    const raw = first.connection.connection;
    await raw.collection('chats').insertOne({
      _id: chatId,
      userId,
      title: 'Old chat',
      titleSource: 'USER',
      systemInstructions: null,
      config,
      messageCount: 4,
      createdAt: at(0),
      updatedAt: at(4),
      __v: 0,
    });
    const ids = [1, 2, 3, 4].map(() => new Types.ObjectId());
    await raw.collection('messages').insertMany(
      ['old question', 'old answer', 'second question', 'second answer'].map((content, index) => ({
        _id: ids[index],
        chatId,
        userId,
        position: index + 1,
        role: index % 2 === 0 ? 'USER' : 'ASSISTANT',
        content,
        status: 'COMPLETE',
        ...(index % 2 === 0 ? { replyId: ids[index + 1] } : { config }),
        createdAt: at(index + 1),
        updatedAt: at(index + 1),
        __v: 0,
      })),
    );
    await first.stop();

    const app = await TestApp.start({ database: db });
    try {
      const token = user.auth.accessToken;
      const shown = (
        await app.http().data(ChatBranchDocument, { id: chatId.toHexString() }, { token })
      ).chat.messages;
      expect(shown.map((m) => m.content)).toEqual([
        'old question',
        'old answer',
        'second question',
        'second answer',
      ]);
      expect(shown.map((m) => m.parentId)).toEqual([null, ...ids.slice(0, 3).map(String)]);
      expect(shown.every((m) => m.siblingIds.length === 1)).toBe(true);

      app.openai.enqueue({ chunks: ['new answer'] });
      const regenerated = await app
        .http()
        .data(RegenerateReplyDocument, { input: { messageId: String(ids[3]) } }, { token });
      const socket = app.socket(token);
      await streamToEnd(socket, regenerated.regenerateReply.assistantMessage.id);
      await socket.dispose();
      const history = app.openai
        .streamingRequests()
        .at(-1)!
        .body.messages.map((m) => m.content);
      expect(history).toEqual(['old question', 'old answer', 'second question']);
      const after = (
        await app.http().data(ChatBranchDocument, { id: chatId.toHexString() }, { token })
      ).chat.messages;
      expect(after.at(-1)).toMatchObject({ content: 'new answer', siblingIndex: 1 });
      expect(after.at(-1)!.siblingIds).toEqual([
        String(ids[3]),
        regenerated.regenerateReply.assistantMessage.id,
      ]);
    } finally {
      await app.stop();
      await db.stop();
    }
  });
});
