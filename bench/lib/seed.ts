import argon2 from 'argon2';
import { Types } from 'mongoose';
import pino from 'pino';
import { loadConfig, type Config } from '../../src/config/config';
import { connectDatabase, type Database } from '../../src/db/connection';
import { bindAppModels, type AppModels } from '../../src/app';
import { syncIndexes } from '../../src/db/models';
import { AccessTokens } from '../../src/modules/auth/access-token';
import { ARGON2_OPTIONS } from '../../src/modules/auth/password-hasher';
import { hashOpaqueToken, newOpaqueToken } from '../../src/modules/auth/opaque-token';
import { MessageRole, MessageStatus } from '../../src/modules/chat/chat-enums';
import { TitleSource } from '../../src/modules/chat/chat.model';
import { LlmProvider } from '../../src/modules/llm/llm-provider.enum';

export const BENCH_PASSWORD = 'bench-Password-2024-long';

export interface SeededUser {
  id: string;
  email: string;
  token: string;
  /** The session's refresh token (refreshSession swaps it for a new pair). */
  refreshToken: string;
}

/**
 * Writes users, sessions and chats straight into the database the subject uses, and mints
 * their access tokens with the subject's own key: registration's argon2 work and its rate
 * limits are not what the streaming and read cases measure.
 */
export class Seeder {
  /** Messages added by growTo. */
  private grown = 0;

  private constructor(
    readonly database: Database,
    readonly models: AppModels,
    private readonly tokens: AccessTokens,
    private readonly passwordHash: string,
  ) {}

  static async open(env: Record<string, string>, url: string, name: string): Promise<Seeder> {
    const config: Config = loadConfig({ ...env, MONGODB_URL: url, DATABASE_NAME: name });
    const database = await connectDatabase(url, name, pino({ level: 'silent' }), {
      monitorCommands: true,
    });
    const models = bindAppModels(database.connection);
    await syncIndexes(Object.values(models));
    const hash = await argon2.hash(BENCH_PASSWORD, ARGON2_OPTIONS);
    return new Seeder(database, models, new AccessTokens(config.auth), hash);
  }

  async users(count: number, prefix: string): Promise<SeededUser[]> {
    const now = new Date();
    const users = Array.from({ length: count }, (_, i) => ({
      _id: new Types.ObjectId(),
      email: `${prefix}-${i}-${now.getTime()}@bench.test`,
      passwordHash: this.passwordHash,
      firstName: 'Bench',
      lastName: `User ${i}`,
      emailVerified: true,
      metadata: { theme: 'dark' },
      createdAt: now,
      updatedAt: now,
    }));
    await this.models.User.insertMany(users);
    const sessionIds = users.map(() => new Types.ObjectId());
    // As the server writes them (session.service.ts): `<sessionId>.<secret>`, stored hashed.
    const refreshTokens = sessionIds.map((id) => `${String(id)}.${newOpaqueToken()}`);
    const sessions = users.map((user, i) => ({
      _id: sessionIds[i]!,
      userId: user._id,
      refreshTokenHash: hashOpaqueToken(refreshTokens[i]!),
      previousRefreshTokenHashes: [],
      createdAt: now,
      lastUsedAt: now,
      expiresAt: new Date(now.getTime() + 24 * 3600_000),
    }));
    await this.models.Session.insertMany(sessions);
    return users.map((user, i) => ({
      id: String(user._id),
      email: user.email,
      token: this.tokens.issue(String(user._id), String(sessions[i]!._id)).token,
      refreshToken: refreshTokens[i]!,
    }));
  }

  /** `count` chats for one user, each with a question and a complete answer. */
  async chats(userId: string, count: number): Promise<void> {
    const owner = new Types.ObjectId(userId);
    const base = Date.now() - count * 1000;
    const chats = Array.from({ length: count }, (_, i) => ({
      _id: new Types.ObjectId(),
      userId: owner,
      title: `Chat number ${i}`,
      titleSource: TitleSource.USER,
      config: { llm: LlmProvider.OPEN_AI, chatModel: 'gpt-bench' },
      messageCount: 2,
      createdAt: new Date(base + i * 1000),
      updatedAt: new Date(base + i * 1000),
    }));
    await this.models.Chat.insertMany(chats, { timestamps: false } as never);
    const messages = chats.flatMap((chat, i) => [
      {
        chatId: chat._id,
        userId: owner,
        position: 1,
        role: MessageRole.USER,
        content: `Question ${i}?`,
        status: MessageStatus.COMPLETE,
      },
      {
        chatId: chat._id,
        userId: owner,
        position: 2,
        role: MessageRole.ASSISTANT,
        content: `Answer ${i}.`,
        status: MessageStatus.COMPLETE,
      },
    ]);
    await this.models.Message.insertMany(messages);
  }

  /** One empty, titled chat per user (so no title request is made); returns their ids in order. */
  async emptyChats(users: SeededUser[]): Promise<string[]> {
    const now = new Date();
    const chats = users.map((user) => ({
      _id: new Types.ObjectId(),
      userId: new Types.ObjectId(user.id),
      title: 'bench',
      titleSource: TitleSource.USER,
      config: { llm: LlmProvider.OPEN_AI, chatModel: 'gpt-bench' },
      messageCount: 0,
      createdAt: now,
      updatedAt: now,
    }));
    await this.models.Chat.insertMany(chats);
    return chats.map((chat) => String(chat._id));
  }

  /**
   * Adds chats of `perChat` messages (prompt and answer in turn, one branch, as sends leave
   * them), their owners taken in turn, until it has added `total` messages in all. (Counting
   * them on the local database would read them all: FerretDB's count scans.)
   */
  async growTo(owners: SeededUser[], total: number, perChat = 10): Promise<void> {
    const chats = Math.ceil(Math.max(0, total - this.grown) / perChat);
    this.grown += chats * perChat;
    const BATCH_CHATS = 100; // 1,000 messages a command
    for (let start = 0; start < chats; start += BATCH_CHATS) {
      const batch = [];
      for (let c = start; c < Math.min(chats, start + BATCH_CHATS); c += 1) {
        const at = new Date(Date.now() - (chats - c) * 1000);
        batch.push(conversation(owners[c % owners.length]!, `Grown chat ${c}`, perChat, at));
      }
      await this.insertConversations(batch);
    }
  }

  /** One chat of `perChat` messages per user; returns their ids in order. */
  async conversations(users: SeededUser[], perChat: number): Promise<string[]> {
    const batch = users.map((user, i) => conversation(user, `Conversation ${i}`, perChat));
    await this.insertConversations(batch);
    return batch.map(({ chat }) => String(chat._id));
  }

  private async insertConversations(batch: ReturnType<typeof conversation>[]): Promise<void> {
    await this.models.Message.collection.insertMany(batch.flatMap(({ messages }) => messages));
    await this.models.Chat.collection.insertMany(batch.map(({ chat }) => chat));
  }

  async close(): Promise<void> {
    await this.database.close();
  }
}

/** A chat of `perChat` messages, prompt and answer in turn, as one branch of sends leaves it. */
function conversation(owner: SeededUser, title: string, perChat: number, at = new Date()) {
  const userId = new Types.ObjectId(owner.id);
  const chatId = new Types.ObjectId();
  const ids = Array.from({ length: perChat }, () => new Types.ObjectId());
  const messages = ids.map((_id, i) => ({
    _id,
    chatId,
    userId,
    parentId: i === 0 ? null : ids[i - 1]!,
    position: i + 1,
    role: i % 2 === 0 ? MessageRole.USER : MessageRole.ASSISTANT,
    content: i % 2 === 0 ? `Question ${i} of ${title}?` : `An answer of a few words, ${i}.`,
    status: MessageStatus.COMPLETE,
    createdAt: at,
    updatedAt: at,
  }));
  const chat = {
    _id: chatId,
    userId,
    title,
    titleSource: TitleSource.USER,
    config: { llm: LlmProvider.OPEN_AI, chatModel: 'gpt-bench' },
    messageCount: perChat,
    activePath: ids,
    activeLeafId: ids[ids.length - 1] ?? null,
    createdAt: at,
    updatedAt: at,
  };
  return { chat, messages };
}
