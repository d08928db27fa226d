import { deflateSync } from 'node:zlib';
import { registerUser, type TestUser } from './helpers/accounts';
import { streamToEnd } from './helpers/chat';
import { TestApp } from './helpers/test-app';

/** A valid 1×1 PNG, built here (signature, IHDR, IDAT, IEND with their CRCs). */
function tinyPng(): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes: Buffer) => {
    let c = 0xffffffff;
    for (const byte of bytes) c = crcTable[(c ^ byte) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([length, body, sum]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(1, 0);
  header.writeUInt32BE(1, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.from([0, 255, 0, 0]))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const CREATE_UPLOAD = `mutation Up($input: CreateUploadInput!) {
  createUpload(input: $input) { attachmentId uploadUrl expiresAt }
}`;

describe('attachments: upload, send, download', () => {
  let app: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    app = await TestApp.start({ env: { OPENAI_MODELS: 'gpt-test,gpt-4o' } });
    user = await registerUser(app);
  });
  afterAll(() => app.stop());

  async function ticket(
    who: TestUser,
    input: { filename: string; mediaType: string; size: number },
  ) {
    const result = await app.http().raw<{
      createUpload: { attachmentId: string; uploadUrl: string; expiresAt: string };
    }>(CREATE_UPLOAD, { input }, { token: who.auth.accessToken });
    if (!result.data) throw new Error(JSON.stringify(result.errors));
    return result.data.createUpload;
  }

  async function put(url: string, bytes: Buffer, who: TestUser = user) {
    const response = await fetch(url, {
      method: 'PUT',
      headers: { authorization: `Bearer ${who.auth.accessToken}` },
      body: new Uint8Array(bytes),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  it('should store an uploaded text file, send its text to the model and serve it back', async () => {
    const bytes = Buffer.from('The secret word is marmalade.\n', 'utf8');
    const up = await ticket(user, {
      filename: 'notes.txt',
      mediaType: 'text/plain',
      size: bytes.length,
    });
    expect(up.uploadUrl).toBe(
      `${app.baseUrl}/uploads/${up.attachmentId}/${up.uploadUrl.split('/').pop()}`,
    );
    const stored = await put(up.uploadUrl, bytes);
    expect(stored).toEqual({
      status: 201,
      body: {
        id: up.attachmentId,
        filename: 'notes.txt',
        mediaType: 'text/plain',
        size: bytes.length,
      },
    });
    // Single use: the same URL again is refused.
    expect((await put(up.uploadUrl, bytes)).status).toBe(410);

    const sent = await app.http().raw<any>(
      `mutation S($input: SendMessageInput!) { sendMessage(input: $input) {
        userMessage { id attachments { id filename mediaType size url } }
        assistantMessage { id } } }`,
      {
        input: {
          prompt: 'What is the secret word?',
          attachmentIds: [up.attachmentId],
          config: { llm: 'OPEN_AI', chatModel: 'gpt-test' },
        },
      },
      { token: user.auth.accessToken },
    );
    expect(sent.errors).toBeUndefined();
    const attachment = sent.data.sendMessage.userMessage.attachments[0];
    expect(attachment).toMatchObject({
      id: up.attachmentId,
      filename: 'notes.txt',
      size: bytes.length,
    });
    const socket = app.socket(user.auth.accessToken);
    await streamToEnd(socket, sent.data.sendMessage.assistantMessage.id);
    await socket.dispose();
    const streamed = app.openai.streamingRequests();
    const request = streamed[streamed.length - 1]!;
    expect(JSON.stringify(request.body.messages)).toContain('The secret word is marmalade.');

    const download = await fetch(attachment.url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);
    expect(download.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(download.headers.get('x-content-type-options')).toBe('nosniff');
    expect(download.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('should refuse bytes whose type contradicts the declared one, keeping nothing', async () => {
    const html = Buffer.from('<!doctype html><script>alert(1)</script>', 'utf8');
    const up = await ticket(user, {
      filename: 'cat.png',
      mediaType: 'image/png',
      size: html.length,
    });
    const before = await app
      .http()
      .raw<any>('{ storageUsed }', {}, { token: user.auth.accessToken });
    const refused = await put(up.uploadUrl, html);
    expect(refused.status).toBe(415);
    expect(refused.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const after = await app
      .http()
      .raw<any>('{ storageUsed }', {}, { token: user.auth.accessToken });
    expect(after.data.storageUsed).toBe(before.data.storageUsed - html.length);
  });

  it('should refuse one byte over the declared size with 413', async () => {
    const png = tinyPng();
    const up = await ticket(user, {
      filename: 'a.png',
      mediaType: 'image/png',
      size: png.length - 1,
    });
    expect((await put(up.uploadUrl, png)).status).toBe(413);
  });

  it("should answer NOT_FOUND for another user's attachment in sendMessage", async () => {
    const other = await registerUser(app);
    const png = tinyPng();
    const up = await ticket(other, { filename: 'b.png', mediaType: 'image/png', size: png.length });
    expect((await put(up.uploadUrl, png, other)).status).toBe(201);
    const sent = await app
      .http()
      .raw<any>(
        `mutation S($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }`,
        { input: { prompt: 'look', attachmentIds: [up.attachmentId] } },
        { token: user.auth.accessToken },
      );
    expect(sent.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    // And the other user's upload URL, even with its secret, is not this user's to use.
    const again = await ticket(other, {
      filename: 'c.png',
      mediaType: 'image/png',
      size: png.length,
    });
    expect((await put(again.uploadUrl, png, user)).status).toBe(404);
  });

  it('should send an image to a vision model as an image_url data URL', async () => {
    const png = tinyPng();
    const up = await ticket(user, {
      filename: 'dot.png',
      mediaType: 'image/png',
      size: png.length,
    });
    expect((await put(up.uploadUrl, png)).status).toBe(201);
    const echo = await app.http().raw<any>(
      `mutation S($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }`,
      {
        input: {
          prompt: 'see?',
          attachmentIds: [up.attachmentId],
          config: { llm: 'ECHO', chatModel: 'echo-1' },
        },
      },
      { token: user.auth.accessToken },
    );
    expect(echo.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const sent = await app.http().raw<any>(
      `mutation S($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }`,
      {
        input: {
          prompt: 'see?',
          attachmentIds: [up.attachmentId],
          config: { llm: 'OPEN_AI', chatModel: 'gpt-4o' },
        },
      },
      { token: user.auth.accessToken },
    );
    expect(sent.errors).toBeUndefined();
    const socket = app.socket(user.auth.accessToken);
    await streamToEnd(socket, sent.data.sendMessage.assistantMessage.id);
    await socket.dispose();
    const streamed = app.openai.streamingRequests();
    const last = streamed[streamed.length - 1]!.body.messages as any[];
    expect(last[last.length - 1].content).toEqual([
      { type: 'text', text: 'see?' },
      { type: 'image_url', image_url: { url: `data:image/png;base64,${png.toString('base64')}` } },
    ]);
  });

  it('should show attachments in a shared link by name and type only', async () => {
    const bytes = Buffer.from('# Plan\nship it\n', 'utf8');
    const up = await ticket(user, {
      filename: 'plan.md',
      mediaType: 'text/markdown',
      size: bytes.length,
    });
    expect((await put(up.uploadUrl, bytes)).status).toBe(201);
    const sent = await app.http().raw<any>(
      `mutation { sendMessage(input: { prompt: "read this", attachmentIds: ["${up.attachmentId}"] }) {
        chat { id } assistantMessage { id } } }`,
      {},
      { token: user.auth.accessToken },
    );
    expect(sent.errors).toBeUndefined();
    const socket = app.socket(user.auth.accessToken);
    await streamToEnd(socket, sent.data.sendMessage.assistantMessage.id);
    await socket.dispose();
    const shared = await app
      .http()
      .raw<any>(
        `mutation Share($id: ID!) { shareChat(id: $id) { token } }`,
        { id: sent.data.sendMessage.chat.id },
        { token: user.auth.accessToken },
      );
    expect(shared.errors).toBeUndefined();
    const view = await app
      .http()
      .raw<any>(
        `query View($t: String!) { sharedChat(token: $t) { messages { role attachments { filename mediaType } } } }`,
        { t: shared.data.shareChat.token },
      );
    expect(view.data.sharedChat.messages[0].attachments).toEqual([
      { filename: 'plan.md', mediaType: 'text/markdown' },
    ]);
    expect(JSON.stringify(view.data)).not.toContain('ship it');
  });
});
