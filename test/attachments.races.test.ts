import { registerUser, type TestUser } from './helpers/accounts';
import { TestApp } from './helpers/test-app';

const QUOTA = 1_000;
const FILE = 150;

/**
 * Limits and single-use tickets under concurrent calls: the quota is reserved per ticket, so
 * uploads racing never hold more than it; an upload URL works once however many PUTs race it.
 */
describe('attachments under concurrent calls', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await TestApp.start({ env: { STORAGE_QUOTA_BYTES: String(QUOTA) } });
  });
  afterAll(() => app.stop());

  const createUpload = (who: TestUser, size: number) =>
    app
      .http()
      .raw<{ up: { attachmentId: string; uploadUrl: string } }>(
        `mutation { up: createUpload(input: { filename: "r.txt", mediaType: "text/plain", size: ${size} }) { attachmentId uploadUrl } }`,
        undefined,
        { token: who.auth.accessToken },
      );
  const storageUsed = async (who: TestUser) =>
    (
      await app.http().raw<{ storageUsed: number }>('query { storageUsed }', undefined, {
        token: who.auth.accessToken,
      })
    ).data!.storageUsed;

  it('should never grant more than the quota to 16 concurrent createUpload calls', async () => {
    for (let trial = 0; trial < 3; trial++) {
      const user = await registerUser(app);
      const results = await Promise.all(Array.from({ length: 16 }, () => createUpload(user, FILE)));
      const granted = results.filter((result) => result.data?.up);
      const refused = results.filter((result) => result.errors);
      expect(granted).toHaveLength(Math.floor(QUOTA / FILE));
      for (const result of refused) {
        expect(result.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
      }
      expect(await storageUsed(user)).toBe(granted.length * FILE);
    }
  });

  it('should store the bytes of one of 16 PUTs racing on one upload URL, and refuse the rest', async () => {
    for (let trial = 0; trial < 3; trial++) {
      const user = await registerUser(app);
      const bytes = new Uint8Array(Buffer.from('x'.repeat(FILE - 1) + '\n'));
      const ticket = (await createUpload(user, FILE)).data!.up;
      const statuses = await Promise.all(
        Array.from({ length: 16 }, () =>
          fetch(ticket.uploadUrl, {
            method: 'PUT',
            headers: { authorization: `Bearer ${user.auth.accessToken}` },
            body: bytes,
          }).then(async (response) => {
            await response.arrayBuffer();
            return response.status;
          }),
        ),
      );
      expect(statuses.filter((status) => status === 201)).toHaveLength(1);
      expect(statuses.filter((status) => status !== 201).every((status) => status === 410)).toBe(
        true,
      );
      // The one stored is the user's only attachment, and the quota counts it once.
      const list = await app
        .http()
        .raw<{ attachments: { totalCount: number } }>('{ attachments { totalCount } }', undefined, {
          token: user.auth.accessToken,
        });
      expect(list.data!.attachments.totalCount).toBe(1);
      expect(await storageUsed(user)).toBe(FILE);
    }
  });

  it('should let a send and a deleteAttachment racing on one file never both succeed', async () => {
    for (let trial = 0; trial < 4; trial++) {
      const user = await registerUser(app);
      const bytes = new Uint8Array(Buffer.from('race me\n'));
      const ticket = (await createUpload(user, bytes.length)).data!.up;
      const put = await fetch(ticket.uploadUrl, {
        method: 'PUT',
        headers: { authorization: `Bearer ${user.auth.accessToken}` },
        body: bytes,
      });
      expect(put.status).toBe(201);
      const [sent, deleted] = await Promise.all([
        app
          .http()
          .raw<any>(
            `mutation { sendMessage(input: { prompt: "p", attachmentIds: ["${ticket.attachmentId}"] }) { userMessage { attachments { id } } } }`,
            undefined,
            { token: user.auth.accessToken },
          ),
        app
          .http()
          .raw<any>(`mutation { deleteAttachment(id: "${ticket.attachmentId}") }`, undefined, {
            token: user.auth.accessToken,
          }),
      ]);
      if (sent.data) {
        // The send won: it carries the file, which a prompt now holds.
        expect(sent.data.sendMessage.userMessage.attachments).toEqual([
          { id: ticket.attachmentId },
        ]);
        expect(deleted.errors?.[0]?.extensions?.code).toBe('CONFLICT');
      } else {
        // The delete won: the send says so, and saved nothing.
        expect(deleted.data.deleteAttachment).toBe(true);
        expect(sent.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
        expect(await app.app.models.Message.countDocuments({ userId: user.auth.user.id })).toBe(0);
      }
    }
  });
});
