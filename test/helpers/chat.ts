import {
  MessageStreamDocument,
  SendMessageDocument,
  type SendMessageInput,
  type SendMessageMutation,
} from '../gql/graphql';
import type { TestApp } from './test-app';
import type { TestSocket } from './ws-client';

export type SendPayload = SendMessageMutation['sendMessage'];

export async function sendMessage(
  app: TestApp,
  token: string,
  input: SendMessageInput,
): Promise<SendPayload> {
  return (await app.http().data(SendMessageDocument, { input }, { token })).sendMessage;
}

/** Subscribes to a reply and collects every event until the stream completes. */
export async function streamToEnd(socket: TestSocket, messageId: string, after?: number) {
  const subscription = socket.subscribe(MessageStreamDocument, { messageId, after });
  const events = await subscription.untilDone(20_000);
  if (subscription.error) throw new Error(`stream failed: ${JSON.stringify(subscription.error)}`);
  return events.map((event) => {
    if (event.errors) throw new Error(`stream error: ${JSON.stringify(event.errors)}`);
    return event.data!.messageStream;
  });
}
