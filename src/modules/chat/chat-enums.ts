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

export enum MessagePartType {
  TEXT = 'TEXT',
  REASONING = 'REASONING',
  TOOL_CALL = 'TOOL_CALL',
}

export enum ToolCallStatus {
  PENDING_APPROVAL = 'PENDING_APPROVAL',
  RUNNING = 'RUNNING',
  COMPLETE = 'COMPLETE',
  FAILED = 'FAILED',
  DENIED = 'DENIED',
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

registerEnumType(MessagePartType, {
  name: 'MessagePartType',
  description: 'What one part of a message is.',
  valuesConfig: {
    TEXT: { description: 'Answer text (all TEXT parts together are `content`).' },
    REASONING: { description: "The model's reasoning (all together are `reasoning`)." },
    TOOL_CALL: { description: 'A tool the model called, with its outcome.' },
  },
});

registerEnumType(ToolCallStatus, {
  name: 'ToolCallStatus',
  description: 'Where a tool call is.',
  valuesConfig: {
    PENDING_APPROVAL: { description: 'Waits for approveToolCall (or its timeout: DENIED).' },
    RUNNING: { description: 'The tool is running.' },
    COMPLETE: { description: 'It ran; `result` holds what it returned.' },
    FAILED: { description: 'It failed, or its arguments did not fit; `error` says why.' },
    DENIED: { description: 'It was not approved, or the approval timed out.' },
  },
});
