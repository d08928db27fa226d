/**
 * A stop reaches a reply this process is writing before anything is read or written (issue 39):
 * the owner is known in memory, so stopGeneration and deleteChat abort the upstream request at
 * once even while the database is stalled, and answer once the reply is saved. Another user's
 * stop still answers NOT_FOUND and leaves the reply running.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteChatDocument, MessageStreamDocument, StopGenerationDocument } from './gql/graphql';
import { registerUser, type TestUser } from './helpers/accounts';
import { sendMessage, streamToEnd } from './helpers/chat';
import { errorCode } from './helpers/http-client';
import { useTestApp } from './helpers/test-app';

/** Longer than a stop that is signalled in memory takes, far shorter than the stall. */
const AT_ONCE_MS = 500;
/** How long the database stays frozen while the stop is on its way. */
const STALL_MS = 2_500;

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

(process.env.MONGODB_URL ? describe.skip : describe)('a stop with the database stalled', () => {
  if (process.env.MONGODB_URL) console.log('skipped: freezing the database needs the local one');
  const app = useTestApp();
  let owner: TestUser;
  let intruder: TestUser;
  beforeAll(async () => {
    owner = await registerUser(app);
    intruder = await registerUser(app);
  });
  const token = () => owner.auth.accessToken;

  /** Starts a long reply and waits until its first words are streamed. */
  async function longReply() {
    app.openai.enqueue({ chunks: Array.from({ length: 400 }, (_, i) => `w${i} `), delayMs: 20 });
    const sent = await sendMessage(app, token(), { prompt: 'Talk for a long time.' });
    const request = () => app.openai.streamingRequests().at(-1)!;
    await waitFor(() => app.openai.streamingRequests().length > 0 && !!request(), 2_000);
    await waitFor(() => app.app.replies.get(sent.assistantMessage.id) !== undefined, 2_000);
    await sleep(200);
    return { sent, upstream: request() };
  }

  /** Freezes the database, runs `during`, and lets it answer again after STALL_MS. */
  async function withStalledDatabase<T>(during: () => Promise<T>): Promise<T> {
    const pid = app.db.server!.pid!;
    process.kill(pid, 'SIGSTOP');
    const thaw = setTimeout(() => process.kill(pid, 'SIGCONT'), STALL_MS);
    try {
      return await during();
    } finally {
      clearTimeout(thaw);
      process.kill(pid, 'SIGCONT');
    }
  }

  it('should abort the upstream request of a stopped reply at once, without waiting for the database, and answer the saved STOPPED message', async () => {
    const { sent, upstream } = await longReply();
    const { stopped, closedAfter } = await withStalledDatabase(async () => {
      const stoppedAt = Date.now();
      const answer = app
        .http()
        .request(
          StopGenerationDocument,
          { messageId: sent.assistantMessage.id },
          { token: token() },
        );
      await waitFor(() => upstream.closedAt !== undefined, STALL_MS - 500);
      const closedAfter = upstream.closedAt! - stoppedAt;
      return { stopped: await answer, closedAfter };
    });
    expect(upstream.closedEarly).toBe(true);
    expect(closedAfter).toBeLessThan(AT_ONCE_MS);
    expect(stopped.errors).toBeUndefined();
    const message = stopped.data!.stopGeneration;
    expect(message.status).toBe('STOPPED');
    expect(message.content.startsWith('w0 w1 ')).toBe(true);
    // What the reply's followers get is what was saved.
    const socket = app.socket(token());
    const events = await streamToEnd(socket, sent.assistantMessage.id);
    await socket.dispose();
    expect(events.at(-1)!.message).toMatchObject({ status: 'STOPPED', content: message.content });
  }, 20_000);

  it('should abort the upstream request of a reply at once when its chat is deleted with the database stalled', async () => {
    const { sent, upstream } = await longReply();
    const { deleted, closedAfter } = await withStalledDatabase(async () => {
      const deletedAt = Date.now();
      const answer = app
        .http()
        .request(DeleteChatDocument, { id: sent.chat.id }, { token: token() });
      await waitFor(() => upstream.closedAt !== undefined, STALL_MS - 500);
      const closedAfter = upstream.closedAt! - deletedAt;
      return { deleted: await answer, closedAfter };
    });
    expect(closedAfter).toBeLessThan(AT_ONCE_MS);
    expect(deleted.errors).toBeUndefined();
    expect(deleted.data!.deleteChat).toBe(true);
    expect(app.app.replies.get(sent.assistantMessage.id)).toBeUndefined();
  }, 20_000);

  it('should answer another user’s stop and deleteChat of a running reply NOT_FOUND, as for an unknown id, and keep the reply streaming', async () => {
    const { sent, upstream } = await longReply();
    const asIntruder = { token: intruder.auth.accessToken };
    const stop = await app
      .http()
      .request(StopGenerationDocument, { messageId: sent.assistantMessage.id }, asIntruder);
    const unknown = await app
      .http()
      .request(StopGenerationDocument, { messageId: '0123456789abcdef01234567' }, asIntruder);
    const deletion = await app.http().request(DeleteChatDocument, { id: sent.chat.id }, asIntruder);
    expect(errorCode(stop)).toBe('NOT_FOUND');
    expect(stop.errors).toEqual(unknown.errors);
    expect(errorCode(deletion)).toBe('NOT_FOUND');
    await sleep(200);
    expect(upstream.closedAt).toBeUndefined();
    expect(app.app.replies.get(sent.assistantMessage.id)).toBeDefined();
    const socket = app.socket(token());
    const subscription = socket.subscribe(MessageStreamDocument, {
      messageId: sent.assistantMessage.id,
    });
    await subscription.waitForEvents(1);
    await socket.dispose();
    // The owner still stops it.
    const { stopGeneration } = await app
      .http()
      .data(StopGenerationDocument, { messageId: sent.assistantMessage.id }, { token: token() });
    expect(stopGeneration.status).toBe('STOPPED');
  }, 20_000);
});
