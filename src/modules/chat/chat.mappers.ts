import type { LlmProvider } from '../llm/llm-provider.enum';
import type { ChatRecord } from './chat.model';
import type { Chat, Message } from './chat.types';
import type { MessageRecord } from './message.model';

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
