/**
 * Every background loop survives a dependency that goes away for a few seconds and picks up
 * again by itself: partial saves and the session sweeper (the database), title suggestions
 * (the model). The mail outbox has its own in mail.outbox.test.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ChatDocument, MessageStreamDocument } from './gql/graphql';
import { registerUser } from './helpers/accounts';
import { sendMessage, streamToEnd } from './helpers/chat';
import { TestApp, useTestApp } from './helpers/test-app';
import { MessageStatus } from '../src/modules/chat/chat-enums';

async function until(probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Longer than the driver's 5 s server selection, so the commands sent meanwhile fail outright. */
const OUTAGE_MS = 6_500;

(process.env.MONGODB_URL ? describe.skip : describe)(
  'background loops with the database away',
  () => {
    if (process.env.MONGODB_URL) console.log('skipped: stopping the database needs the local one');

    it('should save partial text again within seconds of the database coming back, mid-reply', async () => {
      const app = await TestApp.start({ chat: { coalesceMs: 0 } });
      try {
        const user = await registerUser(app);
        const chunks = Array.from({ length: 160 }, (_, i) => `p${i} `);
        app.openai.enqueue({ chunks, delayMs: 100 }); // 16 s of reply
        const payload = await sendMessage(app, user.auth.accessToken, { prompt: 'a long one' });
        const messageId = payload.assistantMessage.id;
        const socket = app.socket(user.auth.accessToken);
        const subscription = socket.subscribe(MessageStreamDocument, { messageId });
        await subscription.waitForEvents(10);

        app.db.server!.kill();
        await sleep(OUTAGE_MS);
        await app.db.server!.start();
        const backAt = Date.now();
        const savedLength = async () =>
          ((await app.app.models.Message.findById(messageId).lean())?.content ?? '').length;
        // Saved during the outage: at most what was there before it.
        const before = await savedLength();
        // Partial saves run every second; they must resume while the reply still streams.
        await until(async () => (await savedLength()) > before + 20, 4_000);
        const resumedAfterMs = Date.now() - backAt;
        expect(resumedAfterMs).toBeLessThan(4_000);
        const saved = await app.app.models.Message.findById(messageId).lean();
        expect(saved!.status).toBe(MessageStatus.STREAMING);

        const events = await subscription.untilDone(30_000);
        expect(events.at(-1)!.data!.messageStream.message).toMatchObject({
          status: 'COMPLETE',
          content: chunks.join(''),
        });
        await socket.dispose();
      } finally {
        await app.stop();
      }
    }, 45_000);

    it('should sweep expired sessions again once the database is back', async () => {
      const app = await TestApp.start({ sessionSweepMs: 300 });
      try {
        const user = await registerUser(app);
        expect(user.auth.refreshToken).toBeTruthy();
        await app.app.models.Session.updateMany(
          {},
          { $set: { expiresAt: new Date(Date.now() - 1_000) } },
        );
        app.db.server!.kill();
        await sleep(OUTAGE_MS);
        await app.db.server!.start();
        await until(async () => (await app.app.models.Session.countDocuments({})) === 0, 10_000);
      } finally {
        await app.stop();
      }
    }, 30_000);
  },
);

describe('title suggestions with the model away', () => {
  const app = useTestApp();

  it('should keep first titles while the model fails, and suggest titles again once it answers', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const socket = app.socket(token);
    const titleOf = async (chatId: string) =>
      (await app.http().data(ChatDocument, { id: chatId }, { token })).chat.title;
    try {
      app.openai.completionStatus = 503;
      const during = await sendMessage(app, token, { prompt: 'Plan a picnic' });
      await streamToEnd(socket, during.assistantMessage.id);
      await sleep(300);
      expect(await titleOf(during.chat.id)).toBe('Plan a picnic');

      app.openai.completionStatus = null;
      app.openai.completionText = 'Mountain Hike Plans';
      const after = await sendMessage(app, token, { prompt: 'Plan a hike' });
      await streamToEnd(socket, after.assistantMessage.id);
      await until(async () => (await titleOf(after.chat.id)) === 'Mountain Hike Plans', 5_000);
    } finally {
      app.openai.completionStatus = null;
      await socket.dispose();
    }
  });
});
