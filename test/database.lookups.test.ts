import { setTimeout as sleep } from 'node:timers/promises';
import { Types } from 'mongoose';
import {
  ChatDocument,
  ChatsDocument,
  DeleteChatDocument,
  RegenerateReplyDocument,
} from './gql/graphql';
import { registerUser } from './helpers/accounts';
import { sendMessage, streamToEnd } from './helpers/chat';
import { useTestApp } from './helpers/test-app';
import { insertRecords, updateByIdIf } from '../src/db/by-id';
import { MessageRole, MessageStatus } from '../src/modules/chat/chat-enums';

const onLocalDatabase = !process.env.MONGODB_URL;

/**
 * The local FerretDB answers from an index only a filter that is exactly `{ _id: <id> }`
 * (db/by-id.ts); anything else reads the whole collection. These tests hold the paths that must
 * stay flat as data grows — a send, its reply's saves — to that shape, and the local database to
 * using its index for it (tools/localdb/idindex.go).
 */
describe('lookups by _id', () => {
  const app = useTestApp();

  (onLocalDatabase ? it : it.skip)(
    'should find a document by _id from an index on the local database, not by reading the collection',
    async () => {
      const collection = app.connection.connection.db!.collection('lookup_probe');
      for (let i = 0; i < 20; i += 1) {
        await collection.insertMany(
          Array.from({ length: 1_000 }, (_, j) => ({ n: i * 1_000 + j })),
        );
      }
      const last = new Types.ObjectId();
      await collection.insertOne({ _id: last, n: -1 });
      // The local server adds its lookup index to a new collection within a second.
      let plan = '';
      for (let attempt = 0; attempt < 30 && !plan.includes('USING INDEX'); attempt += 1) {
        const explained = await app.connection.connection.db!.command({
          explain: { find: 'lookup_probe', filter: { _id: last } },
        });
        plan = JSON.stringify(explained.queryPlanner);
        if (!plan.includes('USING INDEX')) await sleep(200);
      }
      expect(plan).toMatch(/SEARCH \S+ USING INDEX \S+_palaver_id_lookup/);
      await collection.drop();
    },
  );
  if (!onLocalDatabase) console.log("skipped: the lookup index is the local database's own");

  (onLocalDatabase ? it : it.skip)(
    'should filter messages and chats by _id alone while a prompt is sent, its reply streamed and saved, and the chat read, in a large collection',
    async () => {
      // Large enough that lookups by _id cost less than reading the collection (db/by-id.ts).
      await app.connection.connection
        .db!.collection('messages')
        .insertMany(
          Array.from({ length: 2_000 }, (_, i) => ({ chatId: new Types.ObjectId(), n: i })),
        );
      const user = await registerUser(app);
      const token = user.auth.accessToken;
      const first = await sendMessage(app, token, { prompt: 'first' });
      const socket = app.socket(token);
      await streamToEnd(socket, first.assistantMessage.id);
      app.openai.enqueue({ chunks: ['a ', 'b ', 'c'], delayMs: 5 });
      const filters: Array<{ command: string; collection: string; filter: unknown }> = [];
      const client = app.connection.connection.getClient();
      const listener = (event: { commandName: string; command: Record<string, any> }) => {
        const { commandName: name, command } = event;
        const collection = command[name];
        if (collection !== 'messages' && collection !== 'chats') return;
        const of = (filter: unknown) => filters.push({ command: name, collection, filter });
        if (name === 'find' || name === 'count') of(command.filter ?? command.query ?? {});
        if (name === 'findAndModify') of(command.query);
        if (name === 'update') for (const u of command.updates) of(u.q);
        if (name === 'delete') for (const d of command.deletes) of(d.q);
        if (name === 'aggregate') of(command.pipeline);
      };
      client.on('commandStarted', listener);
      try {
        const second = await sendMessage(app, token, {
          chatId: first.chat.id,
          prompt: 'second, with history',
        });
        const events = await streamToEnd(socket, second.assistantMessage.id);
        expect(events.at(-1)!.message).toMatchObject({ status: 'COMPLETE', content: 'a b c' });
        const { chat } = await app.http().data(ChatDocument, { id: first.chat.id }, { token });
        expect(chat.messages.map((m) => m.content)).toEqual([
          'first',
          expect.any(String),
          'second, with history',
          'a b c',
        ]);
        await sleep(200); // the title, if any
      } finally {
        client.off('commandStarted', listener);
        await socket.dispose();
      }
      expect(filters.length).toBeGreaterThan(0);
      for (const { filter } of filters) {
        expect(Object.keys(filter as object)).toEqual(['_id']);
        expect((filter as { _id: unknown })._id).toBeInstanceOf(Types.ObjectId);
      }
      // The reply's final save and the chat's new leaf were among them.
      expect(filters.map((f) => `${f.command} ${f.collection}`)).toEqual(
        expect.arrayContaining(['findAndModify messages', 'findAndModify chats']),
      );
    },
  );

  (onLocalDatabase ? it : it.skip)(
    'should filter messages by _id alone while a reply is regenerated, so another reply costs the same in a large collection (issue 39)',
    async () => {
      const user = await registerUser(app);
      const token = user.auth.accessToken;
      const socket = app.socket(token);
      const sent = await sendMessage(app, token, { prompt: 'answer twice' });
      await streamToEnd(socket, sent.assistantMessage.id);
      const filters: unknown[] = [];
      const client = app.connection.connection.getClient();
      const listener = (event: { commandName: string; command: Record<string, any> }) => {
        const { commandName: name, command } = event;
        if (command[name] !== 'messages') return;
        if (name === 'find') filters.push(command.filter ?? {});
        if (name === 'findAndModify') filters.push(command.query);
      };
      client.on('commandStarted', listener);
      try {
        const { regenerateReply } = await app
          .http()
          .data(
            RegenerateReplyDocument,
            { input: { messageId: sent.assistantMessage.id } },
            { token },
          );
        await streamToEnd(socket, regenerateReply.assistantMessage.id);
      } finally {
        client.off('commandStarted', listener);
        await socket.dispose();
      }
      expect(filters.length).toBeGreaterThan(0);
      for (const filter of filters) expect(Object.keys(filter as object)).toEqual(['_id']);
    },
  );

  (onLocalDatabase ? it : it.skip)(
    'should list a page of chats and their count by _id, without reading the whole chats collection, as chats are made and deleted (issue 39)',
    async () => {
      const user = await registerUser(app);
      const token = user.auth.accessToken;
      const list = async () =>
        (await app.http().data(ChatsDocument, { limit: 2 }, { token })).chats;
      for (let i = 0; i < 2; i += 1) await sendMessage(app, token, { prompt: `chat ${i}` });
      expect((await list()).totalCount).toBe(2);
      const made = await sendMessage(app, token, { prompt: 'chat 2' });
      const gone = await sendMessage(app, token, { prompt: 'chat 3' });
      await app.http().data(DeleteChatDocument, { id: gone.chat.id }, { token });
      await sleep(500); // their titles, saved after the sends answer
      const filters: unknown[] = [];
      const client = app.connection.connection.getClient();
      const listener = (event: { commandName: string; command: Record<string, any> }) => {
        if (event.commandName === 'find' && event.command.find === 'chats') {
          filters.push(event.command.filter ?? {});
        }
        if (event.commandName === 'aggregate' && event.command.aggregate === 'chats') {
          filters.push(event.command.pipeline);
        }
      };
      client.on('commandStarted', listener);
      let page: Awaited<ReturnType<typeof list>>;
      try {
        page = await list();
      } finally {
        client.off('commandStarted', listener);
      }
      expect(page.totalCount).toBe(3);
      expect(page.nodes.map((chat) => chat.id)).toEqual([made.chat.id, expect.any(String)]);
      expect(page.pageInfo.hasNextPage).toBe(true);
      expect(filters.length).toBeGreaterThan(0);
      for (const filter of filters) expect(Object.keys(filter as object)).toEqual(['_id']);
    },
  );

  (onLocalDatabase ? it : it.skip)(
    'should read a chat again, and send into it, without reading its ended messages from the local database again (issue 39)',
    async () => {
      const user = await registerUser(app);
      const token = user.auth.accessToken;
      const socket = app.socket(token);
      const first = await sendMessage(app, token, { prompt: 'remember me' });
      await streamToEnd(socket, first.assistantMessage.id);
      const read = () => app.http().data(ChatDocument, { id: first.chat.id }, { token });
      const before = (await read()).chat.messages;
      const again = await app.countCommands(read);
      expect(again.names.filter((name) => name === 'find messages')).toEqual([]);
      app.openai.enqueue({ chunks: ['x ', 'y'], delayMs: 5 });
      const second = await sendMessage(app, token, { chatId: first.chat.id, prompt: 'and again' });
      const events = await streamToEnd(socket, second.assistantMessage.id);
      const after = await app.countCommands(read);
      await socket.dispose();
      // The reply is read as it was saved, never as it was while streaming.
      expect(events.at(-1)!.message).toMatchObject({ status: 'COMPLETE', content: 'x y' });
      const { chat } = await read();
      expect(chat.messages.map((m) => m.content)).toEqual([
        ...before.map((m) => m.content),
        'and again',
        'x y',
      ]);
      // The new prompt once; the reply was kept when it was saved.
      expect(after.names.filter((name) => name === 'find messages').length).toBeLessThanOrEqual(1);
    },
  );

  it('should let exactly one of 16 concurrent conditional updates of one reply win', async () => {
    const { Message } = app.app.models;
    const reply = await Message.create({
      chatId: new Types.ObjectId(),
      userId: new Types.ObjectId(),
      position: 1,
      role: MessageRole.ASSISTANT,
      content: '',
      status: MessageStatus.STREAMING,
    });
    const outcomes = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        updateByIdIf(
          Message,
          reply._id,
          { status: MessageStatus.STREAMING },
          { $set: { status: MessageStatus.COMPLETE, content: `winner ${i}` } },
        ),
      ),
    );
    const winners = outcomes.filter((outcome) => outcome !== null);
    expect(winners).toHaveLength(1);
    const saved = await Message.findById(reply._id).lean();
    expect(saved).toMatchObject({ status: 'COMPLETE', content: winners[0]!.content });
  });

  it("should store documents through insertRecords exactly as the model's create would", async () => {
    const { Message, Chat } = app.app.models;
    const message = {
      chatId: new Types.ObjectId(),
      userId: new Types.ObjectId(),
      parentId: null,
      position: 2,
      role: MessageRole.ASSISTANT,
      content: '',
      status: MessageStatus.STREAMING,
      config: { llm: 'OPEN_AI', chatModel: 'gpt-test' },
      idempotencyKey: undefined,
    };
    const chat = {
      userId: new Types.ObjectId(),
      title: 'Shapes',
      titleSource: 'PROMPT',
      systemInstructions: null,
      config: { llm: 'OPEN_AI', chatModel: 'gpt-test' },
      messageCount: 2,
      activePath: [new Types.ObjectId()],
      activeLeafId: new Types.ObjectId(),
    };
    const stored = async (model: typeof Message | typeof Chat, id: unknown) =>
      (await model.collection.findOne({ _id: id as Types.ObjectId }))!;
    /** Every field with its type, ids and dates as their kind (they differ by design). */
    const shape = (doc: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(doc).map(([key, value]) => [
          key,
          value instanceof Types.ObjectId || value instanceof Date
            ? value.constructor.name
            : key === '_id'
              ? 'id'
              : value,
        ]),
      );
    for (const [model, doc] of [
      [Message, message],
      [Chat, chat],
    ] as const) {
      const created = await (model as typeof Message).create(doc as never);
      const [inserted] = await insertRecords(model as typeof Message, [doc]);
      const viaCreate = await stored(model, created._id);
      const viaInsert = await stored(model, (inserted as { _id: unknown })._id);
      expect(Object.keys(viaInsert).sort()).toEqual(Object.keys(viaCreate).sort());
      expect(shape(viaInsert)).toEqual(shape(viaCreate));
      expect(shape(inserted as unknown as Record<string, unknown>)).toEqual(shape(viaCreate));
    }
  });
});
