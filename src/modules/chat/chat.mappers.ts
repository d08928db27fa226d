import type { LlmProvider } from '../llm/llm-provider.enum';
import type { ChatRecord } from './chat.model';
import { MessagePartType } from './chat-enums';
import type { Chat, Message, MessagePart, MessageStreamEvent } from './chat.types';
import type { MessageRecord } from './message.model';
import { argumentsOf } from './streaming/reply-content';
import type { ReplyEnd } from './streaming/reply-event';

export function toChat(record: ChatRecord): Chat {
  return {
    id: String(record._id),
    title: record.title,
    systemInstructions: record.systemInstructions ?? null,
    config: { llm: record.config.llm as LlmProvider, chatModel: record.config.chatModel },
    messageCount: record.messageCount,
    pinned: record.pinned ?? false,
    archivedAt: record.archivedAt ?? null,
    tags: record.tags ?? [],
    tools: record.tools ?? [],
    activePath: (record.activePath ?? []).map(String),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

export function toMessage(record: MessageRecord): Message {
  return {
    id: String(record._id),
    chatId: String(record.chatId),
    parentId: record.parentId ? String(record.parentId) : null,
    role: record.role,
    content: record.content,
    parts: partsOf(record),
    reasoning: record.reasoning ?? null,
    status: record.status,
    error: record.error ?? null,
    config: record.config ? { llm: record.config.llm, chatModel: record.config.chatModel } : null,
    usage: record.usage
      ? {
          promptTokens: record.usage.promptTokens,
          completionTokens: record.usage.completionTokens,
          totalTokens: record.usage.totalTokens,
        }
      : null,
    attachmentIds: (record.attachmentIds ?? []).map(String),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/**
 * The end of a followed reply as GraphQL's MessageStreamEvent, its saved record mapped with
 * toMessage: once per follower of a reply, never per token (a delta needs no mapping, see
 * ReplyDelta in streaming/reply-event.ts).
 */
export function toMessageStreamEnd(end: ReplyEnd): MessageStreamEvent {
  return {
    messageId: end.messageId,
    seq: end.seq,
    delta: end.delta,
    reasoningDelta: end.reasoningDelta,
    toolCall: end.toolCall,
    done: end.done,
    message: end.message ? toMessage(end.message) : null,
  };
}

/** A message's parts: as saved, or its text as one TEXT part (text alone, and older replies). */
export function partsOf(record: MessageRecord): MessagePart[] {
  if (!record.parts?.length) {
    return record.content === ''
      ? []
      : [{ type: MessagePartType.TEXT, text: record.content, toolCall: null }];
  }
  return record.parts.map((part) => ({
    type: part.type,
    text: part.toolCall ? null : (part.text ?? ''),
    toolCall: part.toolCall ? { ...part.toolCall, arguments: argumentsOf(part.toolCall) } : null,
  }));
}
