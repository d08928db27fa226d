import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChatDocument,
  ChatEventsDocument,
  ChatsDocument,
  DeleteChatDocument,
  MessageStreamDocument,
  SendMessageDocument,
  StopGenerationDocument,
  UpdateChatDocument,
} from './gql/graphql';
import { registerUser, type TestUser } from './helpers/accounts';
import { sendMessage, streamToEnd, type SendPayload } from './helpers/chat';
import { errorCode } from './helpers/http-client';
import { useTestApp } from './helpers/test-app';

/** Another user's chat or message is NOT_FOUND everywhere, and nothing of it is ever pushed. */
describe('chat ownership', () => {
  const app = useTestApp();
  let owner: TestUser;
  let intruder: TestUser;
  let payload: SendPayload;
  beforeAll(async () => {
    owner = await registerUser(app);
    intruder = await registerUser(app);
    app.openai.enqueue({
      chunks: Array.from({ length: 100 }, (_, i) => `secret${i} `),
      delayMs: 20,
    });
    payload = await sendMessage(app, owner.auth.accessToken, { prompt: 'my private question' });
  });
  const asIntruder = () => ({ token: intruder.auth.accessToken });

  it('should answer NOT_FOUND to chat, updateChat and deleteChat on a chat that is not yours', async () => {
    const id = payload.chat.id;
    expect(errorCode(await app.http().request(ChatDocument, { id }, asIntruder()))).toBe(
      'NOT_FOUND',
    );
    expect(
      errorCode(
        await app
          .http()
          .request(UpdateChatDocument, { id, input: { title: 'mine now' } }, asIntruder()),
      ),
    ).toBe('NOT_FOUND');
    expect(errorCode(await app.http().request(DeleteChatDocument, { id }, asIntruder()))).toBe(
      'NOT_FOUND',
    );
    const { chat } = await app.http().data(ChatDocument, { id }, { token: owner.auth.accessToken });
    expect(chat.title).not.toBe('mine now');
    expect(chat.messageCount).toBe(2);
  });

  it('should answer NOT_FOUND to sendMessage into a chat that is not yours, saving nothing', async () => {
    const before = await app.app.models.Message.countDocuments({ chatId: payload.chat.id });
    const result = await app
      .http()
      .request(
        SendMessageDocument,
        { input: { chatId: payload.chat.id, prompt: 'hi' } },
        asIntruder(),
      );
    expect(errorCode(result)).toBe('NOT_FOUND');
    expect(await app.app.models.Message.countDocuments({ chatId: payload.chat.id })).toBe(before);
    const malformed = await app
      .http()
      .request(SendMessageDocument, { input: { chatId: 'nope', prompt: 'hi' } }, asIntruder());
    expect(errorCode(malformed)).toBe('NOT_FOUND');
  });

  it('should answer NOT_FOUND to stopGeneration of a reply that is not yours, and keep it streaming', async () => {
    const result = await app
      .http()
      .request(StopGenerationDocument, { messageId: payload.assistantMessage.id }, asIntruder());
    expect(errorCode(result)).toBe('NOT_FOUND');
    expect(app.app.replies.get(payload.assistantMessage.id)).toBeDefined();
  });

  it('should refuse a messageStream subscription to a reply that is not yours with NOT_FOUND', async () => {
    const socket = app.socket(intruder.auth.accessToken);
    const subscription = socket.subscribe(MessageStreamDocument, {
      messageId: payload.assistantMessage.id,
    });
    const events = await subscription.untilDone();
    expect(subscription.refusalCode()).toBe('NOT_FOUND');
    expect(JSON.stringify(events)).not.toContain('secret');
    await socket.dispose();
  });

  it('should push chat events only to the owner, and list only the caller’s chats', async () => {
    const ownerSocket = app.socket(owner.auth.accessToken);
    const intruderSocket = app.socket(intruder.auth.accessToken);
    const ownerEvents = ownerSocket.subscribe(ChatEventsDocument);
    const intruderEvents = intruderSocket.subscribe(ChatEventsDocument);
    await sleep(100);
    await app
      .http()
      .data(
        UpdateChatDocument,
        { id: payload.chat.id, input: { title: 'renamed' } },
        { token: owner.auth.accessToken },
      );
    await ownerEvents.waitForEvents(1);
    await sleep(200);
    expect(ownerEvents.events[0]!.data!.chatEvents).toMatchObject({
      type: 'UPDATED',
      chat: { title: 'renamed' },
    });
    expect(intruderEvents.events).toHaveLength(0);

    const { chats } = await app.http().data(ChatsDocument, {}, asIntruder());
    expect(chats.totalCount).toBe(0);
    const search = await app.http().data(ChatsDocument, { search: 'private' }, asIntruder());
    expect(search.chats.totalCount).toBe(0);
    await ownerSocket.dispose();
    await intruderSocket.dispose();
  });

  it('should still let the owner follow and finish the reply', async () => {
    const socket = app.socket(owner.auth.accessToken);
    const events = await streamToEnd(socket, payload.assistantMessage.id);
    expect(events.at(-1)!.message!.content).toContain('secret99');
    await socket.dispose();
  });
});
