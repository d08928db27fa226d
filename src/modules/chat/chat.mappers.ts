import type { LlmProvider } from '../llm/llm-provider.enum';
import type { ChatRecord } from './chat.model';
import type { Chat, Message, MessageStreamEvent } from './chat.types';
import type { MessageRecord } from './message.model';
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
    done: end.done,
    message: end.message ? toMessage(end.message) : null,
  };
}
