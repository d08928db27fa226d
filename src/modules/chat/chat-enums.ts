import { registerEnumType } from 'type-graphql';

export enum MessageRole {
  USER = 'USER',
  ASSISTANT = 'ASSISTANT',
}

export enum MessageStatus {
  STREAMING = 'STREAMING',
  COMPLETE = 'COMPLETE',
  STOPPED = 'STOPPED',
  FAILED = 'FAILED',
  INTERRUPTED = 'INTERRUPTED',
}

export enum ChatEventType {
  CREATED = 'CREATED',
  UPDATED = 'UPDATED',
  DELETED = 'DELETED',
  MESSAGE_ADDED = 'MESSAGE_ADDED',
  MESSAGE_UPDATED = 'MESSAGE_UPDATED',
}

registerEnumType(MessageRole, {
  name: 'MessageRole',
  description: 'Who wrote a message.',
  valuesConfig: { USER: { description: 'The person.' }, ASSISTANT: { description: 'The model.' } },
});

registerEnumType(MessageStatus, {
  name: 'MessageStatus',
  description: 'Where a message is in its life. User messages are always COMPLETE.',
  valuesConfig: {
    STREAMING: { description: 'The model is still writing it; follow it with messageStream.' },
    COMPLETE: { description: 'Finished normally.' },
    STOPPED: { description: 'Stopped by stopGeneration; holds the text so far.' },
    FAILED: { description: 'The model failed; `error` says why, with the text so far.' },
    INTERRUPTED: {
      description: 'The server stopped while it was streaming; holds the text so far.',
    },
  },
});

registerEnumType(ChatEventType, {
  name: 'ChatEventType',
  description: 'What changed in one of your chats.',
});
