import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChatDocument,
  ChatsDocument,
  MessageStreamDocument,
  RegisterDocument,
  StopGenerationDocument,
} from './gql/graphql';
import { STRONG_PASSWORD, uniqueEmail } from './helpers/accounts';
import { sendMessage, streamToEnd } from './helpers/chat';
import { errorCode } from './helpers/http-client';
import { useTestApp } from './helpers/test-app';

/** The chat issue's acceptance path, through the public API only. */
describe('a conversation from first prompt to stopped reply', () => {
  const app = useTestApp();

  const register = async () =>
    (
      await app.http().data(RegisterDocument, {
        input: {
          email: uniqueEmail(),
          password: STRONG_PASSWORD,
          confirmPassword: STRONG_PASSWORD,
          firstName: 'Chat',
          lastName: 'User',
        },
      })
    ).register.accessToken;

  it('should stream, title, continue with history, stop, and stay private', async () => {
    const token = await register();
    const socket = app.socket(token);

    // First prompt, no chat yet: every delta, then done with COMPLETE.
    app.openai.completionText = 'Rust Borrow Checker';
    app.openai.enqueue({ chunks: ['Ownership', ' means', ' one', ' owner', '.'], delayMs: 10 });
    const first = await sendMessage(app, token, { prompt: 'Explain the borrow checker in Rust' });
    const events = await streamToEnd(socket, first.assistantMessage.id);
    expect(
      events
        .filter((e) => !e.done)
        .map((e) => e.delta)
        .join(''),
    ).toBe('Ownership means one owner.');
    expect(events.at(-1)).toMatchObject({
      done: true,
      message: { status: 'COMPLETE', content: 'Ownership means one owner.' },
    });

    // The chat is listed, with the title the model suggested.
    let listed = '';
    for (let i = 0; i < 50 && listed !== 'Rust Borrow Checker'; i += 1) {
      listed = (await app.http().data(ChatsDocument, {}, { token })).chats.nodes[0]!.title;
      if (listed !== 'Rust Borrow Checker') await sleep(50);
    }
    expect(listed).toBe('Rust Borrow Checker');

    // A second prompt: the upstream gets the first exchange as history.
    app.openai.enqueue({ chunks: ['Yes.'] });
    const second = await sendMessage(app, token, { chatId: first.chat.id, prompt: 'Is that all?' });
    await streamToEnd(socket, second.assistantMessage.id);
    expect(app.openai.streamingRequests().at(-1)!.body.messages).toEqual([
      { role: 'user', content: 'Explain the borrow checker in Rust' },
      { role: 'assistant', content: 'Ownership means one owner.' },
      { role: 'user', content: 'Is that all?' },
    ]);

    // A long reply, stopped: STOPPED with the partial text.
    app.openai.enqueue({ chunks: Array.from({ length: 300 }, (_, i) => `part${i} `), delayMs: 15 });
    const third = await sendMessage(app, token, {
      chatId: first.chat.id,
      prompt: 'Now tell me everything.',
    });
    const live = socket.subscribe(MessageStreamDocument, { messageId: third.assistantMessage.id });
    await live.waitForEvents(3);
    const { stopGeneration } = await app
      .http()
      .data(StopGenerationDocument, { messageId: third.assistantMessage.id }, { token });
    expect(stopGeneration.status).toBe('STOPPED');
    expect(stopGeneration.content).toMatch(/^part0 part1 /);
    const { chat } = await app.http().data(ChatDocument, { id: first.chat.id }, { token });
    expect(chat.messages.at(-1)).toMatchObject({
      status: 'STOPPED',
      content: stopGeneration.content,
    });
    await live.untilDone();

    // A second user sees none of it and cannot subscribe to it.
    const stranger = await register();
    expect((await app.http().data(ChatsDocument, {}, { token: stranger })).chats.totalCount).toBe(
      0,
    );
    expect(
      errorCode(await app.http().request(ChatDocument, { id: first.chat.id }, { token: stranger })),
    ).toBe('NOT_FOUND');
    const strangerSocket = app.socket(stranger);
    const spy = strangerSocket.subscribe(MessageStreamDocument, {
      messageId: first.assistantMessage.id,
    });
    const spied = await spy.untilDone();
    expect(spy.refusalCode()).toBe('NOT_FOUND');
    expect(spied.some((e) => e.data)).toBe(false);

    await strangerSocket.dispose();
    await socket.dispose();
    app.openai.completionText = 'A Fine Title';
  });
});
