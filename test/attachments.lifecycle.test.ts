import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Types } from 'mongoose';
import { registerUser, type TestUser } from './helpers/accounts';
import { streamToEnd } from './helpers/chat';
import { tinyPng } from './helpers/sample-files';
import { TestApp } from './helpers/test-app';
import { DownloadLinks } from '../src/modules/attachments/download-links';

/** A small quota, so that 16 racing tickets of QUOTA_SLICE bytes cannot all fit. */
const QUOTA = 300_000;
const QUOTA_SLICE = 40_000;

/** Other clients' documents: an alias, a fragment, inline literals. */
const TICKET = `fragment Ticket on UploadTicket { attachmentId uploadUrl expiresAt }
mutation Reserve($input: CreateUploadInput!) { ticket: createUpload(input: $input) { ...Ticket } }`;
const USAGE = `query Usage { used: storageUsed mine: attachments(limit: 100) { totalCount nodes { id filename } } }`;
const SEND = `mutation Send($input: SendMessageInput!) { sent: sendMessage(input: $input) {
  chat { id messageCount } userMessage { id attachments { id filename url } } assistantMessage { id } } }`;

describe('attachments: quota, removal, downloads, prompts', () => {
  let app: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    app = await TestApp.start({
      env: {
        STORAGE_QUOTA_BYTES: String(QUOTA),
        ATTACHMENTS_PER_MESSAGE: '2',
        OPENAI_MODELS: 'gpt-test,gpt-4o',
      },
      // The sweeper looks often; tests age records in the database instead of waiting a day.
      attachmentSweep: { everyMs: 200 },
    });
    user = await registerUser(app);
  });
  afterAll(() => app.stop());

  const gql = <T = any>(query: string, variables: object, who: TestUser = user) =>
    app.http().raw<T>(query, variables as Record<string, unknown>, { token: who.auth.accessToken });

  async function ticket(
    who: TestUser,
    input: { filename: string; mediaType: string; size: number },
  ) {
    const result = await gql(TICKET, { input }, who);
    if (!result.data) throw new Error(JSON.stringify(result.errors));
    return result.data.ticket as { attachmentId: string; uploadUrl: string };
  }

  async function put(url: string, bytes: Buffer, who: TestUser = user) {
    const response = await fetch(url, {
      method: 'PUT',
      headers: { authorization: `Bearer ${who.auth.accessToken}` },
      body: new Uint8Array(bytes),
    });
    await response.arrayBuffer();
    return response.status;
  }

  async function upload(who: TestUser, filename: string, mediaType: string, bytes: Buffer) {
    const up = await ticket(who, { filename, mediaType, size: bytes.length });
    expect(await put(up.uploadUrl, bytes, who)).toBe(201);
    return up.attachmentId;
  }

  async function usage(who: TestUser = user): Promise<{ used: number; ids: string[] }> {
    const result = await gql(USAGE, {}, who);
    return {
      used: result.data.used,
      ids: result.data.mine.nodes.map((node: { id: string }) => node.id),
    };
  }

  /** GridFS files and chunks stored under these attachment ids. */
  async function bytesStored(ids: string[]): Promise<{ files: number; chunks: number }> {
    const db = app.connection.connection.db!;
    const objectIds = ids.map((id) => new Types.ObjectId(id));
    return {
      files: await db
        .collection('attachment_bytes.files')
        .countDocuments({ _id: { $in: objectIds } }),
      chunks: await db
        .collection('attachment_bytes.chunks')
        .countDocuments({ files_id: { $in: objectIds } }),
    };
  }

  async function userIdOf(who: TestUser): Promise<string> {
    return (await gql('{ me { id } }', {}, who)).data.me.id;
  }

  async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 10_000) {
    const deadline = Date.now() + ms;
    let value = await read();
    while (!done(value) && Date.now() < deadline) {
      await sleep(100);
      value = await read();
    }
    return value;
  }

  async function finishReply(who: TestUser, assistantId: string) {
    const socket = app.socket(who.auth.accessToken);
    try {
      await streamToEnd(socket, assistantId);
    } finally {
      await socket.dispose();
    }
  }

  describe('quota under concurrent uploads', () => {
    it('should never grant tickets over STORAGE_QUOTA_BYTES, and give expired ones back', async () => {
      for (let trial = 0; trial < 3; trial++) {
        const racer = await registerUser(app);
        const results = await Promise.all(
          Array.from({ length: 16 }, (_, i) =>
            gql(
              TICKET,
              { input: { filename: `r${i}.txt`, mediaType: 'text/plain', size: QUOTA_SLICE } },
              racer,
            ),
          ),
        );
        const granted = results.filter((r) => r.data?.ticket).length;
        for (const refused of results.filter((r) => !r.data?.ticket)) {
          expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
        }
        expect(granted * QUOTA_SLICE).toBeLessThanOrEqual(QUOTA);
        // Those that fit were granted: the quota is not undercounted either.
        expect(granted).toBe(Math.floor(QUOTA / QUOTA_SLICE));
        expect((await usage(racer)).used).toBe(granted * QUOTA_SLICE);

        // The tickets' ten minutes pass unused: the sweeper gives their room back.
        const racerId = new Types.ObjectId(await userIdOf(racer));
        await app.app.models.Attachment.updateMany(
          { userId: racerId },
          { $set: { ticketExpiresAt: new Date(Date.now() - 1000) } },
        );
        const after = await until(
          () => usage(racer),
          (u) => u.used === 0,
        );
        expect(after.used).toBe(0);
        expect(await app.app.models.Attachment.countDocuments({ userId: racerId })).toBe(0);
      }
    });

    it('should take 16 concurrent PUTs to one upload URL exactly once', async () => {
      const bytes = Buffer.from('only once\n');
      const up = await ticket(user, {
        filename: 'once.txt',
        mediaType: 'text/plain',
        size: bytes.length,
      });
      const statuses = await Promise.all(
        Array.from({ length: 16 }, () => put(up.uploadUrl, bytes)),
      );
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s !== 201).every((s) => s === 410)).toBe(true);
      expect(await bytesStored([up.attachmentId])).toEqual({ files: 1, chunks: 1 });
      expect(
        (await gql('mutation($id: ID!) { deleteAttachment(id: $id) }', { id: up.attachmentId }))
          .data,
      ).toEqual({ deleteAttachment: true });
    });
  });

  describe('removal', () => {
    it('should remove an unsent attachment with its bytes and give its room back', async () => {
      const before = await usage();
      const id = await upload(user, 'draft.md', 'text/markdown', Buffer.from('# draft\n'));
      expect((await usage()).used).toBe(before.used + 8);
      const deleted = await gql('mutation Del($id: ID!) { gone: deleteAttachment(id: $id) }', {
        id,
      });
      expect(deleted.data).toEqual({ gone: true });
      expect(await usage()).toEqual(before);
      expect(await bytesStored([id])).toEqual({ files: 0, chunks: 0 });
    });

    it("should refuse deleting a sent attachment (CONFLICT) and answer NOT_FOUND for another user's", async () => {
      const id = await upload(user, 'sent.txt', 'text/plain', Buffer.from('sent along\n'));
      const sent = await gql(SEND, { input: { prompt: 'read', attachmentIds: [id] } });
      expect(sent.errors).toBeUndefined();
      await finishReply(user, sent.data.sent.assistantMessage.id);
      const conflict = await gql('mutation { deleteAttachment(id: "' + id + '") }', {});
      expect(conflict.errors?.[0]?.extensions?.code).toBe('CONFLICT');

      const stranger = await registerUser(app);
      const theirs = await upload(stranger, 'theirs.txt', 'text/plain', Buffer.from('mine\n'));
      const notFound = await gql('mutation($id: ID!) { deleteAttachment(id: $id) }', {
        id: theirs,
      });
      expect(notFound.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(await bytesStored([theirs])).toEqual({ files: 1, chunks: 1 });
    });

    it("should remove a deleted chat's attachments, bytes and all, and their links stop working", async () => {
      const owner = await registerUser(app);
      const a = await upload(owner, 'a.txt', 'text/plain', Buffer.from('alpha\n'));
      const b = await upload(owner, 'b.png', 'image/png', tinyPng());
      const sent = await gql(
        SEND,
        {
          input: {
            prompt: 'both',
            attachmentIds: [a, b],
            config: { llm: 'OPEN_AI', chatModel: 'gpt-4o' },
          },
        },
        owner,
      );
      expect(sent.errors).toBeUndefined();
      await finishReply(owner, sent.data.sent.assistantMessage.id);
      const urls = sent.data.sent.userMessage.attachments.map((x: { url: string }) => x.url);
      expect((await fetch(urls[0])).status).toBe(200);
      expect(await bytesStored([a, b])).toEqual({ files: 2, chunks: 2 });
      const used = (await usage(owner)).used;
      expect(used).toBe(6 + tinyPng().length);

      const deleted = await gql(
        'mutation($id: ID!) { deleteChat(id: $id) }',
        { id: sent.data.sent.chat.id },
        owner,
      );
      expect(deleted.data).toEqual({ deleteChat: true });
      const after = await until(
        () => usage(owner),
        (u) => u.used === 0,
      );
      expect(after).toEqual({ used: 0, ids: [] });
      expect(await bytesStored([a, b])).toEqual({ files: 0, chunks: 0 });
      for (const url of urls) expect((await fetch(url)).status).toBe(404);
    });

    it("should remove all of an account's attachments and bytes with the account", async () => {
      const leaving = await registerUser(app);
      const sentOne = await upload(leaving, 's.txt', 'text/plain', Buffer.from('sent\n'));
      const unsent = await upload(leaving, 'u.png', 'image/png', tinyPng());
      const pending = await ticket(leaving, {
        filename: 'p.txt',
        mediaType: 'text/plain',
        size: 5,
      });
      const sent = await gql(SEND, { input: { prompt: 'x', attachmentIds: [sentOne] } }, leaving);
      await finishReply(leaving, sent.data.sent.assistantMessage.id);
      const ids = [sentOne, unsent, pending.attachmentId];
      const leavingId = await userIdOf(leaving);
      const deleted = await gql(
        'mutation($p: String!) { deleteAccount(password: $p) }',
        { p: leaving.password },
        leaving,
      );
      expect(deleted.errors).toBeUndefined();
      const left = await until(
        () =>
          app.app.models.Attachment.countDocuments({
            _id: { $in: ids.map((id) => new Types.ObjectId(id)) },
          }),
        (n) => n === 0,
      );
      expect(left).toBe(0);
      expect(await bytesStored(ids)).toEqual({ files: 0, chunks: 0 });
      expect(await app.app.models.StorageUsage.countDocuments({ _id: leavingId })).toBe(0);
    });

    it('should remove uploads no prompt carried within 24 hours, with their bytes', async () => {
      const before = await usage();
      const old = await upload(user, 'old.txt', 'text/plain', Buffer.from('stale\n'));
      const fresh = await upload(user, 'fresh.txt', 'text/plain', Buffer.from('fresh\n'));
      // A day and a minute pass for `old` only.
      await app.app.models.Attachment.collection.updateOne(
        { _id: new Types.ObjectId(old) },
        { $set: { createdAt: new Date(Date.now() - 24 * 3600_000 - 60_000) } },
      );
      const after = await until(
        () => usage(),
        (u) => !u.ids.includes(old) && u.used === before.used + 6,
      );
      expect(after.ids).not.toContain(old);
      expect(after.ids).toContain(fresh);
      expect(after.used).toBe(before.used + 6);
      expect(await bytesStored([old])).toEqual({ files: 0, chunks: 0 });
      expect(await bytesStored([fresh])).toEqual({ files: 1, chunks: 1 });
    });

    it('should take an upload that arrives slowly, longer than one database timeout (5 s)', async () => {
      const uploader = await registerUser(app);
      const piece = Buffer.alloc(24_000, 'b');
      const pieces = 12;
      const up = await ticket(uploader, {
        filename: 'slow.txt',
        mediaType: 'text/plain',
        size: piece.length * pieces,
      });
      const status = await new Promise<number>((resolve, reject) => {
        const url = new URL(up.uploadUrl);
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'PUT',
            headers: {
              authorization: `Bearer ${uploader.auth.accessToken}`,
              'content-length': piece.length * pieces,
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        let sent = 0;
        const timer = setInterval(() => {
          req.write(piece);
          if (++sent === pieces) {
            clearInterval(timer);
            req.end();
          }
        }, 500);
      });
      expect(status).toBe(201);
      expect(await bytesStored([up.attachmentId])).toEqual({ files: 1, chunks: 2 });
    }, 20_000);

    it('should keep nothing of an upload whose client went away midway', async () => {
      const before = await usage();
      const size = 250_000;
      const up = await ticket(user, { filename: 'cut.txt', mediaType: 'text/plain', size });
      await new Promise<void>((resolve) => {
        const url = new URL(up.uploadUrl);
        const req = request({
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'PUT',
          headers: { authorization: `Bearer ${user.auth.accessToken}`, 'content-length': size },
        });
        req.on('error', () => resolve());
        req.write(Buffer.alloc(100_000, 'a'), () => {
          setTimeout(() => {
            req.destroy();
            resolve();
          }, 200);
        });
      });
      const after = await until(
        () => usage(),
        (u) => u.used === before.used,
      );
      expect(after).toEqual(before);
      expect(await bytesStored([up.attachmentId])).toEqual({ files: 0, chunks: 0 });
      expect(await app.app.models.Attachment.findById(up.attachmentId).lean()).toBeNull();
    });
  });

  describe('download links', () => {
    it('should serve an image inline and a document as a download, sandboxed, nosniff', async () => {
      const png = await upload(user, 'pic.png', 'image/png', tinyPng());
      const doc = await upload(user, 'data.json', 'application/json', Buffer.from('{"a":1}'));
      const { data } = await gql(`{ attachments(limit: 10) { nodes { id url mediaType } } }`, {});
      const urlOf = (id: string) =>
        data.attachments.nodes.find((n: { id: string }) => n.id === id).url;
      const image = await fetch(urlOf(png));
      expect(image.status).toBe(200);
      expect(image.headers.get('content-type')).toBe('image/png');
      expect(image.headers.get('content-disposition')).toMatch(/^inline; filename="pic.png"/);
      expect(Buffer.from(await image.arrayBuffer()).equals(tinyPng())).toBe(true);
      const file = await fetch(urlOf(doc));
      expect(file.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(file.headers.get('content-disposition')).toMatch(/^attachment; filename="data.json"/);
      await file.arrayBuffer();
      for (const response of [image, file]) {
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
        const csp = response.headers.get('content-security-policy') ?? '';
        expect(csp).toContain("default-src 'none'");
        expect(csp).toContain('sandbox');
      }
    });

    it('should refuse a tampered or expired link with 403', async () => {
      const id = await upload(user, 'sig.txt', 'text/plain', Buffer.from('signed\n'));
      const links = new DownloadLinks(app.config.auth.secretKey);
      const good = links.pathOf(id).path;
      expect((await fetch(app.baseUrl + good)).status).toBe(200);
      const parts = good.split('/');
      const sig = parts[4]!;
      const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
      expect((await fetch(app.baseUrl + [...parts.slice(0, 4), flipped].join('/'))).status).toBe(
        403,
      );
      // A later expiry with the old signature.
      const later = [...parts.slice(0, 3), String(Number(parts[3]) + 3600), sig].join('/');
      expect((await fetch(app.baseUrl + later)).status).toBe(403);
      // Signed correctly, but an hour ago: expired.
      const expired = links.pathOf(id, Date.now() - 3600_000).path;
      const response = await fetch(app.baseUrl + expired);
      expect(response.status).toBe(403);
      expect(((await response.json()) as any).errors[0].extensions.code).toBe('INVALID_TOKEN');
      // Another attachment's signature does not open this one.
      const other = await upload(user, 'other.txt', 'text/plain', Buffer.from('other\n'));
      const otherSig = links.pathOf(other).path.split('/');
      expect(
        (await fetch(app.baseUrl + [...parts.slice(0, 4), otherSig[4]].join('/'))).status,
      ).toBe(403);
    });
  });

  describe('what a prompt may carry', () => {
    it("should refuse a document over the model's budget, saying by how much, saving nothing", async () => {
      const text = Buffer.from('word '.repeat(20_000)); // 100,000 characters
      const id = await upload(user, 'long.txt', 'text/plain', text);
      const first = await gql(SEND, { input: { prompt: 'hello' } });
      await finishReply(user, first.data.sent.assistantMessage.id);
      const chatId = first.data.sent.chat.id;
      const chatsBefore = await app.app.models.Chat.countDocuments({});
      const refused = await gql(SEND, {
        input: { chatId, prompt: 'summarize', attachmentIds: [id] },
      });
      expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      const said = JSON.stringify(refused.errors);
      const over = /(\d+) more than/.exec(said);
      expect(over).not.toBeNull();
      // The echo model reads 48,000 characters at once: the prompt is ~100,000 over it by ~52,000.
      expect(Number(over![1])).toBeGreaterThan(50_000);
      expect(Number(over![1])).toBeLessThan(60_000);
      const chat = await gql(`query($id: ID!) { chat(id: $id) { messageCount } }`, { id: chatId });
      expect(chat.data.chat.messageCount).toBe(2);
      // Without a chat: no new chat either.
      const fresh = await gql(SEND, { input: { prompt: 'summarize', attachmentIds: [id] } });
      expect(fresh.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(await app.app.models.Chat.countDocuments({})).toBe(chatsBefore);
    });

    it('should refuse an image to a model without vision, and more than ATTACHMENTS_PER_MESSAGE', async () => {
      const image = await upload(user, 'dot.png', 'image/png', tinyPng());
      const echo = await gql(SEND, {
        input: {
          prompt: 'see',
          attachmentIds: [image],
          config: { llm: 'ECHO', chatModel: 'echo-1' },
        },
      });
      expect(echo.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      const three = [
        image,
        await upload(user, 'x.txt', 'text/plain', Buffer.from('x')),
        await upload(user, 'y.txt', 'text/plain', Buffer.from('y')),
      ];
      const many = await gql(SEND, {
        input: {
          prompt: 'all',
          attachmentIds: three,
          config: { llm: 'OPEN_AI', chatModel: 'gpt-4o' },
        },
      });
      expect(many.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(JSON.stringify(many.errors)).toContain('at most 2');
    });

    it("should keep the prompt's attachments on edit and regenerate, sending their text again", async () => {
      const id = await upload(
        user,
        'code.txt',
        'text/plain',
        Buffer.from('The password is heliotrope.\n'),
      );
      const gpt = { llm: 'OPEN_AI', chatModel: 'gpt-test' };
      const sent = await gql(SEND, {
        input: { prompt: 'what is the password?', attachmentIds: [id], config: gpt },
      });
      expect(sent.errors).toBeUndefined();
      await finishReply(user, sent.data.sent.assistantMessage.id);
      const lastRequestText = () => {
        const streamed = app.openai.streamingRequests();
        return JSON.stringify(streamed[streamed.length - 1]!.body.messages);
      };

      const edited = await gql(
        `mutation Edit($input: EditMessageInput!) { editMessage(input: $input) {
          userMessage { id attachments { id filename } } assistantMessage { id } } }`,
        {
          input: {
            messageId: sent.data.sent.userMessage.id,
            prompt: 'the password, please',
            config: gpt,
          },
        },
      );
      expect(edited.errors).toBeUndefined();
      expect(edited.data.editMessage.userMessage.attachments).toEqual([
        { id, filename: 'code.txt' },
      ]);
      await finishReply(user, edited.data.editMessage.assistantMessage.id);
      expect(lastRequestText()).toContain('heliotrope');
      expect(lastRequestText()).toContain('the password, please');

      const count = app.openai.streamingRequests().length;
      const again = await gql(
        `mutation { regenerateReply(input: { messageId: "${edited.data.editMessage.assistantMessage.id}" }) { assistantMessage { id } } }`,
        {},
      );
      expect(again.errors).toBeUndefined();
      await finishReply(user, again.data.regenerateReply.assistantMessage.id);
      expect(app.openai.streamingRequests().length).toBe(count + 1);
      expect(lastRequestText()).toContain('heliotrope');
    });

    it("should refuse chat A's attachment in a prompt to chat B", async () => {
      const id = await upload(user, 'a-only.txt', 'text/plain', Buffer.from('for chat A\n'));
      const a = await gql(SEND, { input: { prompt: 'A', attachmentIds: [id] } });
      await finishReply(user, a.data.sent.assistantMessage.id);
      const b = await gql(SEND, { input: { prompt: 'B' } });
      await finishReply(user, b.data.sent.assistantMessage.id);
      const refused = await gql(SEND, {
        input: { chatId: b.data.sent.chat.id, prompt: 'B again', attachmentIds: [id] },
      });
      expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(JSON.stringify(refused.errors)).toContain('another chat');
      const chat = await gql(`query($id: ID!) { chat(id: $id) { messageCount } }`, {
        id: b.data.sent.chat.id,
      });
      expect(chat.data.chat.messageCount).toBe(2);
      // In chat A it may go again.
      const inA = await gql(SEND, {
        input: { chatId: a.data.sent.chat.id, prompt: 'A again', attachmentIds: [id] },
      });
      expect(inA.errors).toBeUndefined();
      await finishReply(user, inA.data.sent.assistantMessage.id);
    });
  });
});
