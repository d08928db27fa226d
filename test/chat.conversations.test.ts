import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChatDocument,
  ChatEventsDocument,
  ChatsDocument,
  ChatsWithLastMessageDocument,
  CreateChatDocument,
  DeleteChatDocument,
  UpdateChatDocument,
} from './gql/graphql';
import { registerUser, type TestUser } from './helpers/accounts';
import { sendMessage, streamToEnd } from './helpers/chat';
import { errorCode } from './helpers/http-client';
import { useTestApp } from './helpers/test-app';

describe('conversations', () => {
  const app = useTestApp();

  async function chatWithReply(user: TestUser, prompt: string, reply: string[] = ['ok']) {
    app.openai.enqueue({ chunks: reply });
    const payload = await sendMessage(app, user.auth.accessToken, { prompt });
    const socket = app.socket(user.auth.accessToken);
    await streamToEnd(socket, payload.assistantMessage.id);
    await socket.dispose();
    return payload;
  }

  it('should create, rename and delete a chat, with the server default model when none is given', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const { createChat } = await app.http().data(CreateChatDocument, {}, { token });
    expect(createChat).toMatchObject({
      title: 'New chat',
      messageCount: 0,
      config: { llm: 'OPEN_AI', chatModel: 'gpt-test' },
    });

    const { updateChat } = await app.http().data(
      UpdateChatDocument,
      {
        id: createChat.id,
        input: {
          title: 'Trip plans',
          systemInstructions: 'Be brief.',
          config: { llm: 'ECHO', chatModel: 'echo-1' },
        },
      },
      { token },
    );
    expect(updateChat).toMatchObject({
      title: 'Trip plans',
      systemInstructions: 'Be brief.',
      config: { llm: 'ECHO', chatModel: 'echo-1' },
    });

    expect(
      (await app.http().data(DeleteChatDocument, { id: createChat.id }, { token })).deleteChat,
    ).toBe(true);
    expect(
      errorCode(await app.http().request(ChatDocument, { id: createChat.id }, { token })),
    ).toBe('NOT_FOUND');
    expect(
      errorCode(await app.http().request(DeleteChatDocument, { id: createChat.id }, { token })),
    ).toBe('NOT_FOUND');
  });

  it('should refuse a model the server does not offer, before saving anything', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const create = await app
      .http()
      .request(
        CreateChatDocument,
        { input: { config: { llm: 'OPEN_AI', chatModel: 'gpt-nope' } } },
        { token },
      );
    expect(errorCode(create)).toBe('BAD_USER_INPUT');
    expect(create.errors?.[0]?.extensions?.fields).toHaveProperty(['config.chatModel']);
    const ollama = await app
      .http()
      .request(
        CreateChatDocument,
        { input: { config: { llm: 'OLLAMA', chatModel: 'llama3.2' } } },
        { token },
      );
    expect(ollama.errors?.[0]?.extensions?.fields).toHaveProperty(['config.llm']);
    const send = await app
      .http()
      .raw(
        'mutation($input: SendMessageInput!) { sendMessage(input: $input) { chat { id } } }',
        { input: { prompt: 'hi', config: { llm: 'OPEN_AI', chatModel: 'gpt-nope' } } },
        { token },
      );
    expect(errorCode(send)).toBe('BAD_USER_INPUT');
    expect(await app.app.models.Chat.countDocuments({ userId: user.auth.user.id })).toBe(0);
    expect(await app.app.models.Message.countDocuments({ userId: user.auth.user.id })).toBe(0);
  });

  it('should continue a chat by id and send the earlier exchange, after the system instructions, as history', async () => {
    const user = await registerUser(app);
    const first = await chatWithReply(user, 'What is the capital of France?', ['Paris', '.']);
    app.openai.enqueue({ chunks: ['About 2 million.'] });
    const second = await sendMessage(app, user.auth.accessToken, {
      chatId: first.chat.id,
      prompt: 'How many people live there?',
      systemInstructions: 'Answer in one sentence.',
    });
    expect(second.chat.id).toBe(first.chat.id);
    expect(second.chat.messageCount).toBe(4);
    const socket = app.socket(user.auth.accessToken);
    await streamToEnd(socket, second.assistantMessage.id);
    await socket.dispose();

    const request = app.openai.streamingRequests().at(-1)!;
    expect(request.body.model).toBe('gpt-test');
    expect(request.body.messages).toEqual([
      { role: 'system', content: 'Answer in one sentence.' },
      { role: 'user', content: 'What is the capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: 'How many people live there?' },
    ]);

    const { chat } = await app
      .http()
      .data(ChatDocument, { id: first.chat.id }, { token: user.auth.accessToken });
    expect(chat.messages.map((m) => [m.role, m.content])).toEqual([
      ['USER', 'What is the capital of France?'],
      ['ASSISTANT', 'Paris.'],
      ['USER', 'How many people live there?'],
      ['ASSISTANT', 'About 2 million.'],
    ]);
  });

  it('should leave failed empty replies out of the history and trim the oldest to fit', async () => {
    const user = await registerUser(app);
    app.openai.enqueue({ status: 400 });
    const failed = await sendMessage(app, user.auth.accessToken, { prompt: 'first' });
    const socket = app.socket(user.auth.accessToken);
    const events = await streamToEnd(socket, failed.assistantMessage.id);
    expect(events.at(-1)!.message!.status).toBe('FAILED');
    app.openai.enqueue({ chunks: ['fine'] });
    const next = await sendMessage(app, user.auth.accessToken, {
      chatId: failed.chat.id,
      prompt: 'second',
    });
    await streamToEnd(socket, next.assistantMessage.id);
    await socket.dispose();
    expect(app.openai.streamingRequests().at(-1)!.body.messages).toEqual([
      { role: 'user', content: 'first' },
      { role: 'user', content: 'second' },
    ]);
  });

  it('should name a new chat from the prompt, then push the title the model suggests', async () => {
    const user = await registerUser(app);
    const socket = app.socket(user.auth.accessToken);
    const events = socket.subscribe(ChatEventsDocument);
    await sleep(100);
    app.openai.completionText = '"Sourdough Starter Tips"';
    try {
      const payload = await sendMessage(app, user.auth.accessToken, {
        prompt:
          'How do I keep a sourdough starter alive while I am travelling for two weeks in the summer?',
      });
      expect(payload.chat.title).toBe('How do I keep a sourdough starter alive while I am…');
      await events.waitForEvents(5);
      const deadline = Date.now() + 3_000;
      while (
        !events.events.some((e) => e.data?.chatEvents.chat?.title === 'Sourdough Starter Tips') &&
        Date.now() < deadline
      ) {
        await sleep(20);
      }
      const titled = events.events.find(
        (e) =>
          e.data?.chatEvents.type === 'UPDATED' &&
          e.data.chatEvents.chat?.title === 'Sourdough Starter Tips',
      );
      expect(titled).toBeDefined();
      const { chat } = await app
        .http()
        .data(ChatDocument, { id: payload.chat.id }, { token: user.auth.accessToken });
      expect(chat.title).toBe('Sourdough Starter Tips');
      const titleRequest = app.openai.requests.filter((r) => !r.body.stream).at(-1)!;
      expect(titleRequest.body.messages.at(-1)!.content).toContain('sourdough starter');
      await socket.dispose();
    } finally {
      app.openai.completionText = 'A Fine Title';
    }
  });

  it("should never let the model's title overwrite one the user set while the model was still answering", async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    app.openai.completionText = 'The Model Title';
    app.openai.completionDelayMs = 600;
    const since = app.openai.requests.length;
    try {
      const payload = await sendMessage(app, token, { prompt: 'name this chat, slowly' });
      const { updateChat } = await app
        .http()
        .data(UpdateChatDocument, { id: payload.chat.id, input: { title: 'Mine' } }, { token });
      expect(updateChat.title).toBe('Mine');
      // Until the suggestion has come back and been refused.
      const deadline = Date.now() + 5_000;
      while (
        !app.openai.requests.slice(since).some((r) => !r.body.stream && r.closedAt !== undefined)
      ) {
        if (Date.now() > deadline) throw new Error('the title request never finished');
        await sleep(20);
      }
      await sleep(300);
      const { chat } = await app.http().data(ChatDocument, { id: payload.chat.id }, { token });
      expect(chat.title).toBe('Mine');
    } finally {
      app.openai.completionText = 'A Fine Title';
      app.openai.completionDelayMs = 0;
    }
  });

  it('should keep the first title when the title suggestion fails, and never call the model for ECHO', async () => {
    const user = await registerUser(app);
    app.openai.completionStatus = 500;
    try {
      const payload = await chatWithReply(user, 'Plan a picnic');
      await sleep(300);
      const { chat } = await app
        .http()
        .data(ChatDocument, { id: payload.chat.id }, { token: user.auth.accessToken });
      expect(chat.title).toBe('Plan a picnic');
    } finally {
      app.openai.completionStatus = null;
    }
    const before = app.openai.requests.length;
    const echo = await sendMessage(app, user.auth.accessToken, {
      prompt: 'echo me',
      config: { llm: 'ECHO', chatModel: 'echo-1' },
    });
    const socket = app.socket(user.auth.accessToken);
    const events = await streamToEnd(socket, echo.assistantMessage.id);
    await socket.dispose();
    expect(events.at(-1)!.message!.content).toBe('You said: echo me');
    expect(app.openai.requests.length).toBe(before);
  });

  it('should list chats by latest activity with cursors, skip, totalCount and search over titles and message text', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const titles = ['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo'];
    const ids: string[] = [];
    for (const title of titles) {
      ids.push(
        (await app.http().data(CreateChatDocument, { input: { title } }, { token })).createChat.id,
      );
      await sleep(5);
    }
    // A chat named by the user, whose reply mentions zebras.
    const zulu = (
      await app.http().data(CreateChatDocument, { input: { title: 'Zulu' } }, { token })
    ).createChat;
    app.openai.enqueue({ chunks: ['The answer mentions ZEBRAS'] });
    const zuluReply = await sendMessage(app, token, {
      chatId: zulu.id,
      prompt: 'Tell me something',
    });
    const zuluSocket = app.socket(token);
    await streamToEnd(zuluSocket, zuluReply.assistantMessage.id);
    await zuluSocket.dispose();
    // A new message moves Bravo to the top.
    const bravoReply = await sendMessage(app, token, {
      chatId: ids[1],
      prompt: 'Tell me about Kangaroos',
    });
    const socket = app.socket(token);
    await streamToEnd(socket, bravoReply.assistantMessage.id);
    await socket.dispose();

    const first = await app.http().data(ChatsDocument, { limit: 2 }, { token });
    expect(first.chats.totalCount).toBe(6);
    expect(first.chats.nodes.map((c) => c.title)).toEqual(['Bravo', 'Zulu']);
    expect(first.chats.pageInfo.hasNextPage).toBe(true);
    const second = await app
      .http()
      .data(ChatsDocument, { limit: 2, after: first.chats.pageInfo.endCursor }, { token });
    expect(second.chats.nodes.map((c) => c.title)).toEqual(['Echo', 'Delta']);
    const rest = await app
      .http()
      .data(ChatsDocument, { limit: 10, after: second.chats.pageInfo.endCursor }, { token });
    expect(rest.chats.nodes.map((c) => c.title)).toEqual(['Charlie', 'Alpha']);
    expect(rest.chats.pageInfo.hasNextPage).toBe(false);
    const skipped = await app.http().data(ChatsDocument, { limit: 2, skip: 2 }, { token });
    expect(skipped.chats.nodes.map((c) => c.title)).toEqual(['Echo', 'Delta']);

    const byTitle = await app.http().data(ChatsDocument, { search: 'CHAR' }, { token });
    expect(byTitle.chats.nodes.map((c) => c.title)).toEqual(['Charlie']);
    expect(byTitle.chats.totalCount).toBe(1);
    const byMessage = await app.http().data(ChatsDocument, { search: 'kangaroo' }, { token });
    expect(byMessage.chats.nodes.map((c) => c.title)).toEqual(['Bravo']);
    const byReply = await app.http().data(ChatsDocument, { search: 'zebras' }, { token });
    expect(byReply.chats.nodes.map((c) => c.title)).toEqual(['Zulu']);
    const regexChars = await app.http().data(ChatsDocument, { search: '.*' }, { token });
    expect(regexChars.chats.totalCount).toBe(0);
  });

  it('should refuse bad list arguments with BAD_USER_INPUT', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    for (const variables of [{ limit: 0 }, { limit: 101 }, { skip: -1 }, { after: 'garbage' }]) {
      const result = await app.http().request(ChatsDocument, variables, { token });
      expect(errorCode(result)).toBe('BAD_USER_INPUT');
    }
  });

  it('should page a chat’s messages backwards with before', async () => {
    const user = await registerUser(app);
    const first = await chatWithReply(user, 'm1', ['r1']);
    for (const i of [2, 3]) {
      app.openai.enqueue({ chunks: [`r${i}`] });
      const next = await sendMessage(app, user.auth.accessToken, {
        chatId: first.chat.id,
        prompt: `m${i}`,
      });
      const socket = app.socket(user.auth.accessToken);
      await streamToEnd(socket, next.assistantMessage.id);
      await socket.dispose();
    }
    const token = user.auth.accessToken;
    const latest = await app.http().data(ChatDocument, { id: first.chat.id, limit: 2 }, { token });
    expect(latest.chat.messages.map((m) => m.content)).toEqual(['m3', 'r3']);
    const older = await app
      .http()
      .data(
        ChatDocument,
        { id: first.chat.id, limit: 3, before: latest.chat.messages[0]!.id },
        { token },
      );
    expect(older.chat.messages.map((m) => m.content)).toEqual(['r1', 'm2', 'r2']);
    const oldest = await app
      .http()
      .data(
        ChatDocument,
        { id: first.chat.id, limit: 3, before: older.chat.messages[0]!.id },
        { token },
      );
    expect(oldest.chat.messages.map((m) => m.content)).toEqual(['m1']);
  });

  it('should read a chats page of 5 and of 50 with the same number of database commands', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    for (let i = 0; i < 50; i += 1) {
      const { createChat } = await app
        .http()
        .data(CreateChatDocument, { input: { title: `chat ${i}` } }, { token });
      // Chats 9, 19, …, 49 get a message, so both pages include chats with messages.
      if (i % 10 === 9) {
        app.openai.enqueue({ chunks: [`reply ${i}`] });
        const sent = await sendMessage(app, token, {
          chatId: createChat.id,
          prompt: `prompt ${i}`,
        });
        const socket = app.socket(token);
        await streamToEnd(socket, sent.assistantMessage.id);
        await socket.dispose();
      }
    }
    // A first page lets the server learn the collections' sizes (db/by-id.ts), which it asks
    // for once and then every 30 s: the pages measured below read only what a page needs.
    await app.http().data(ChatsWithLastMessageDocument, { limit: 5 }, { token });
    const small = await app.countCommands(() =>
      app.http().data(ChatsWithLastMessageDocument, { limit: 5 }, { token }),
    );
    const large = await app.countCommands(async () => {
      const { chats } = await app
        .http()
        .data(ChatsWithLastMessageDocument, { limit: 50 }, { token });
      expect(chats.nodes).toHaveLength(50);
      expect(chats.nodes.filter((c) => c.messages.length === 1)).toHaveLength(5);
      expect(chats.nodes.find((c) => c.title === 'chat 39')!.messages[0]).toMatchObject({
        role: 'ASSISTANT',
        content: 'reply 39',
      });
    });
    expect(large.names).toEqual(small.names);
    expect(large.count).toBe(small.count);
    // The page, its count, and the last messages of every chat on it; plus the session check
    // when the session was not read in the last seconds (see LiveSessionCache). The local
    // database reads the user's chats by _id instead, counting them from the same read, and
    // keeps ended messages in memory (ChatIdsByUser, SettledMessages).
    const pageCommands = small.names.filter((name) => name !== 'find sessions').sort();
    expect(pageCommands).toEqual(
      process.env.MONGODB_URL ? ['aggregate chats', 'find chats', 'find messages'] : ['find chats'],
    );
    expect(small.count - pageCommands.length).toBeLessThanOrEqual(1);
  });
});
