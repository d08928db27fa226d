import { setTimeout as sleep } from 'node:timers/promises';
import { ChatEventsDocument, CreateChatDocument, UpdateChatDocument } from './gql/graphql';
import { registerUser } from './helpers/accounts';
import { useTestApp } from './helpers/test-app';

/**
 * chatEvents reads what an event names once per event, however many of the user's
 * subscriptions receive it (tabs, devices): a user's fan-out must not multiply database work.
 */
describe('chatEvents fan-out', () => {
  const app = useTestApp();

  it('should read the changed chat once for 20 subscriptions of one user, each getting it', async () => {
    const user = await registerUser(app);
    const other = await registerUser(app);
    const token = user.auth.accessToken;
    const { createChat } = await app
      .http()
      .data(CreateChatDocument, { input: { title: 'fan-out' } }, { token });
    const sockets = [app.socket(token), app.socket(token)];
    const stranger = app.socket(other.auth.accessToken);
    const subscriptions = Array.from({ length: 20 }, (_, i) =>
      sockets[i % 2]!.subscribe(ChatEventsDocument),
    );
    const strangers = stranger.subscribe(ChatEventsDocument);
    try {
      await Promise.all([...sockets, stranger].map((socket) => socket.connected));
      await sleep(300); // subscriptions registered
      const { count, names } = await app.countCommands(async () => {
        await app
          .http()
          .data(UpdateChatDocument, { id: createChat.id, input: { title: 'renamed' } }, { token });
        await Promise.all(subscriptions.map((subscription) => subscription.waitForEvents(1)));
      });
      for (const subscription of subscriptions) {
        expect(subscription.events[0]!.data!.chatEvents).toMatchObject({
          type: 'UPDATED',
          chatId: createChat.id,
          chat: { title: 'renamed' },
        });
      }
      // The update itself, then one read for all twenty (before: one read per subscription).
      expect({ count, names }).toEqual({ count: expect.any(Number), names });
      expect(names.filter((name) => name === 'find').length).toBeLessThanOrEqual(1);
      expect(count).toBeLessThanOrEqual(4);
      expect(strangers.events).toEqual([]);
    } finally {
      for (const subscription of [...subscriptions, strangers]) subscription.unsubscribe();
      await Promise.all([...sockets, stranger].map((socket) => socket.dispose()));
    }
  });
});
