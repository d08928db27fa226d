import { registerUser, type TestUser } from './helpers/accounts';
import { streamToEnd } from './helpers/chat';
import { TestApp } from './helpers/test-app';
import { errorCode as codeOf } from './helpers/http-client';
import { Types } from 'mongoose';

/**
 * What removes an attachment, and that its bytes go with it: deleting its chat, the account,
 * or the attachment itself when no prompt carries it (CONFLICT otherwise).
 */
describe('attachments removed with what holds them', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await TestApp.start();
  });
  afterAll(() => app.stop());

  const gql = async (who: TestUser, query: string, variables?: Record<string, unknown>) =>
    app.http().raw<any>(query, variables, { token: who.auth.accessToken });

  /** A stored text attachment of `who`: its id and download link. */
  async function uploaded(who: TestUser, text = 'removal test\n') {
    const bytes = Buffer.from(text, 'utf8');
    const ticket = (
      await gql(
        who,
        'mutation ($i: CreateUploadInput!) { t: createUpload(input: $i) { attachmentId uploadUrl } }',
        { i: { filename: 'r.txt', mediaType: 'text/plain', size: bytes.length } },
      )
    ).data.t;
    const put = await fetch(ticket.uploadUrl, {
      method: 'PUT',
      headers: { authorization: `Bearer ${who.auth.accessToken}` },
      body: new Uint8Array(bytes),
    });
    expect(put.status).toBe(201);
    const list = await gql(who, '{ attachments(limit: 100) { nodes { id url } } }');
    const node = list.data.attachments.nodes.find(
      (n: { id: string }) => n.id === ticket.attachmentId,
    );
    return { id: ticket.attachmentId as string, url: node.url as string, size: bytes.length };
  }

  const bytesStored = (id: string) =>
    app.connection.connection.db!.collection('attachment_bytes.files').countDocuments({
      _id: new Types.ObjectId(id),
    });
  const chunksStored = (id: string) =>
    app.connection.connection.db!.collection('attachment_bytes.chunks').countDocuments({
      files_id: new Types.ObjectId(id),
    });

  async function sendWith(who: TestUser, attachmentId: string) {
    const sent = await gql(
      who,
      'mutation ($i: SendMessageInput!) { sendMessage(input: $i) { chat { id } assistantMessage { id } } }',
      { i: { prompt: 'keep this', attachmentIds: [attachmentId] } },
    );
    expect(sent.errors).toBeUndefined();
    const socket = app.socket(who.auth.accessToken);
    await streamToEnd(socket, sent.data.sendMessage.assistantMessage.id);
    await socket.dispose();
    return sent.data.sendMessage.chat.id as string;
  }

  it('should remove an unsent attachment with its bytes, and give its room back', async () => {
    const user = await registerUser(app);
    const file = await uploaded(user);
    expect(await bytesStored(file.id)).toBe(1);
    expect((await gql(user, '{ storageUsed }')).data.storageUsed).toBe(file.size);
    const deleted = await gql(user, 'mutation ($id: ID!) { deleteAttachment(id: $id) }', {
      id: file.id,
    });
    expect(deleted.data.deleteAttachment).toBe(true);
    expect(await bytesStored(file.id)).toBe(0);
    expect(await chunksStored(file.id)).toBe(0);
    expect((await gql(user, '{ storageUsed }')).data.storageUsed).toBe(0);
    expect((await fetch(file.url)).status).toBe(404);
    // Twice is NOT_FOUND, as is another user's.
    const again = await gql(user, 'mutation ($id: ID!) { deleteAttachment(id: $id) }', {
      id: file.id,
    });
    expect(codeOf(again)).toBe('NOT_FOUND');
  });

  it("should answer NOT_FOUND for another user's attachment and keep it", async () => {
    const [owner, other] = [await registerUser(app), await registerUser(app)];
    const file = await uploaded(owner);
    const refused = await gql(other, 'mutation { deleteAttachment(id: "' + file.id + '") }');
    expect(codeOf(refused)).toBe('NOT_FOUND');
    expect(await bytesStored(file.id)).toBe(1);
  });

  it('should refuse to delete a sent attachment (CONFLICT) and remove it with its chat', async () => {
    const user = await registerUser(app);
    const file = await uploaded(user);
    const chatId = await sendWith(user, file.id);
    const refused = await gql(user, 'mutation ($id: ID!) { deleteAttachment(id: $id) }', {
      id: file.id,
    });
    expect(codeOf(refused)).toBe('CONFLICT');
    expect(await bytesStored(file.id)).toBe(1);

    const deleted = await gql(user, 'mutation ($id: ID!) { deleteChat(id: $id) }', { id: chatId });
    expect(deleted.data.deleteChat).toBe(true);
    expect(await bytesStored(file.id)).toBe(0);
    expect(await chunksStored(file.id)).toBe(0);
    expect((await gql(user, '{ storageUsed }')).data.storageUsed).toBe(0);
    expect((await fetch(file.url)).status).toBe(404);
  });

  it("should remove every attachment's bytes with the account", async () => {
    const user = await registerUser(app);
    const sent = await uploaded(user, 'sent\n');
    const unsent = await uploaded(user, 'unsent\n');
    await sendWith(user, sent.id);
    const deleted = await gql(user, 'mutation ($p: String!) { deleteAccount(password: $p) }', {
      p: user.password,
    });
    expect(deleted.data.deleteAccount).toBe(true);
    for (const file of [sent, unsent]) {
      expect(await bytesStored(file.id)).toBe(0);
      expect((await fetch(file.url)).status).toBe(404);
    }
    expect(await app.app.models.StorageUsage.countDocuments({ _id: user.auth.user.id })).toBe(0);
  });

  it('should refuse an attachment of another chat in a prompt', async () => {
    const user = await registerUser(app);
    const file = await uploaded(user);
    await sendWith(user, file.id);
    const elsewhere = await gql(
      user,
      'mutation { sendMessage(input: { prompt: "again", attachmentIds: ["' +
        file.id +
        '"] }) { chat { id } } }',
    );
    expect(codeOf(elsewhere)).toBe('BAD_USER_INPUT');
  });
});
