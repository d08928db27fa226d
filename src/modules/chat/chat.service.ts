import type { PromptAttachments } from '../attachments/prompt-attachments';
import type { ToolRegistry } from '../tools/tool-registry';
import { isValidObjectId, Types } from 'mongoose';
import type { MessageModel } from './message.model';
import type { ChatShareModel } from './sharing/chat-share.model';
import { op } from '../../db/trusted';
import { BadUserInputError, NotFoundError } from '../../errors/errors';
import type { LlmCatalog } from '../../llm/catalog';
import type { ChatEvents } from './chat-events';
import { decodeChatCursor, encodeChatCursor } from './chat-cursor';
import { ChatEventType } from './chat-enums';
import { countTags, normalizeTags, tagKey } from './chat-tags';
import type { CreateChatInput, UpdateChatInput } from './chat.inputs';
import { TitleSource, type ChatRecord, type StoredLlmConfig, type ChatModel } from './chat.model';
import type { LlmConfigInput } from './llm-config.type';
import type { StopReplyService } from './stop-reply.service';
import type { SettledMessages } from './settled-messages';
import { findByIds, updateByIdIf } from '../../db/by-id';
import type { ChatIdsByUser } from './chat-ids-by-user';
import { databaseKindOf } from '../../db/connection';
import type { OpenAccounts } from './open-accounts';
import { orUndo } from '../../util/or-undo';

export const CHAT_LIST_LIMITS = {
  minLimit: 1,
  maxLimit: 100,
  maxSkip: 10_000,
  maxSearchLength: 200,
} as const;
const NEW_CHAT_TITLE = 'New chat';

export interface ChatListArgs {
  limit: number;
  skip?: number | null;
  after?: string | null;
  search?: string | null;
  filter?: ChatListFilter | null;
}

export interface ChatListFilter {
  /** true: archived only; false: the others; null: both. Left out: false. */
  archived?: boolean | null;
  pinned?: boolean | null;
  tag?: string | null;
}

export interface ChatPage {
  records: ChatRecord[];
  totalCount: number;
  hasNextPage: boolean;
  endCursor: string | null;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Chats of one user: every read and write is filtered by the owner, so another's is NOT_FOUND. */
export class ChatService {
  constructor(
    private readonly models: { Chat: ChatModel; Message: MessageModel; ChatShare: ChatShareModel },
    private readonly catalog: LlmCatalog,
    private readonly events: ChatEvents,
    private readonly stops: StopReplyService,
    private readonly accounts: OpenAccounts,
    private readonly tools: Pick<ToolRegistry, 'choose'>,
    /** A chat's attachments go with it. */
    private readonly attachments: Pick<PromptAttachments, 'eraseChat'>,
    /** The messages kept in memory on the local database: a deleted chat's are forgotten. */
    private readonly settled?: SettledMessages,
    /** The ids of each user's chats, kept in memory on the local database. */
    private readonly chatIds?: ChatIdsByUser,
  ) {}

  async get(userId: string, chatId: string): Promise<ChatRecord> {
    if (!isValidObjectId(chatId)) throw new NotFoundError('Chat');
    // By primary key, owner checked here (see SessionService.findLive on FerretDB's scans).
    const chat = await this.models.Chat.findById(chatId).lean();
    if (!chat || String(chat.userId) !== userId) throw new NotFoundError('Chat');
    return chat;
  }

  /** The request's model if given, else the fallback; refused unless this server offers it. */
  resolveConfig(
    requested: LlmConfigInput | null | undefined,
    fallback?: StoredLlmConfig,
  ): StoredLlmConfig {
    const choice = requested ?? fallback ?? this.catalog.defaultChoice;
    const problem = this.catalog.whyUnavailable(choice);
    if (problem) {
      const field = this.catalog.provider(choice.llm) ? 'config.chatModel' : 'config.llm';
      throw new BadUserInputError({ [field]: problem });
    }
    return { llm: choice.llm as StoredLlmConfig['llm'], chatModel: choice.chatModel };
  }

  async create(userId: string, input: CreateChatInput | null | undefined): Promise<ChatRecord> {
    const config = this.resolveConfig(input?.config);
    const chat = await this.models.Chat.create({
      userId: new Types.ObjectId(userId),
      title: input?.title?.trim() || NEW_CHAT_TITLE,
      // Without a title the first prompt names the chat, and then the model improves it.
      titleSource: input?.title?.trim() ? TitleSource.USER : TitleSource.PROMPT,
      systemInstructions: input?.systemInstructions || null,
      config,
      messageCount: 0,
    });
    await orUndo(
      () => this.accounts.assertOpen(userId),
      () => this.models.Chat.deleteOne({ _id: chat._id }),
    );
    this.chatIds?.added(userId, String(chat._id));
    this.events.publish(userId, { type: ChatEventType.CREATED, chatId: String(chat._id) });
    return chat.toObject();
  }

  async update(userId: string, chatId: string, input: UpdateChatInput): Promise<ChatRecord> {
    const current = await this.get(userId, chatId);
    const $set: Record<string, unknown> = {};
    if (input.title != null) {
      $set.title = input.title.trim();
      $set.titleSource = TitleSource.USER;
    }
    if (input.systemInstructions != null)
      $set.systemInstructions = input.systemInstructions || null;
    if (input.config != null) $set.config = this.resolveConfig(input.config, current.config);
    if (input.pinned != null) $set.pinned = input.pinned;
    if (input.archived != null) {
      // Archiving again keeps the first date; bringing it back clears it.
      $set.archivedAt = input.archived ? (current.archivedAt ?? new Date()) : null;
    }
    if (input.tags != null) Object.assign($set, normalizeTags(input.tags));
    if (input.tools != null) $set.tools = this.tools.choose(input.tools);
    if (Object.keys($set).length === 0) return current;
    const updated = await updateByIdIf(this.models.Chat, chatId, { userId }, { $set });
    if (!updated) throw new NotFoundError('Chat');
    this.events.publish(userId, { type: ChatEventType.UPDATED, chatId });
    return updated;
  }

  /** Deletes the chat and its messages (every branch) and shares, stopping its replies. */
  async delete(userId: string, chatId: string): Promise<true> {
    // The user's replies running here stop before the database is asked anything (issue 39).
    this.stops.signalChat(userId, chatId, 'deleted');
    await this.get(userId, chatId);
    await this.stops.stopChat(chatId, 'deleted');
    // Shares first: a link must not outlive the chat even if a later step fails.
    await this.models.ChatShare.deleteMany({ chatId, userId });
    await this.models.Message.deleteMany({ chatId, userId });
    this.settled?.forgetChat(chatId);
    // By _id alone (FerretDB looks up nothing else, see db/by-id.ts): get() proved the owner.
    const result = await this.models.Chat.deleteOne({ _id: chatId });
    this.chatIds?.removed(userId, chatId);
    if (result.deletedCount === 0) throw new NotFoundError('Chat');
    await this.attachments.eraseChat(chatId);
    this.events.publish(userId, { type: ChatEventType.DELETED, chatId });
    return true;
  }

  /** The caller's tags with the number of chats carrying each (one read of tags only). */
  async tags(userId: string): Promise<Array<{ tag: string; count: number }>> {
    return countTags(await this.models.Chat.find({ userId }, { tags: 1 }).lean());
  }

  /** Archived, pinned and tag conditions; archived chats are hidden unless asked for. */
  private organizeFilter(filter: ChatListFilter | null | undefined): Record<string, unknown> {
    const conditions: Record<string, unknown> = {};
    const archived = filter?.archived === undefined ? false : filter.archived;
    // `null` also matches chats written before these fields existed.
    if (archived === true) conditions.archivedAt = op({ $ne: null });
    if (archived === false) conditions.archivedAt = null;
    if (filter?.pinned === true) conditions.pinned = true;
    if (filter?.pinned === false) conditions.pinned = op({ $ne: true });
    if (filter?.tag != null) conditions.tagKeys = tagKey(filter.tag);
    return conditions;
  }

  /**
   * A page by `updatedAt` descending (ties by id): `after` continues from a previous page's
   * endCursor, `skip` offsets for clients that page by number. Two queries: the page and the
   * count (a search adds one grouping over message text).
   */
  async list(userId: string, args: ChatListArgs): Promise<ChatPage> {
    const { limit } = args;
    const skip = args.skip ?? 0;
    if (
      !Number.isInteger(limit) ||
      limit < CHAT_LIST_LIMITS.minLimit ||
      limit > CHAT_LIST_LIMITS.maxLimit
    ) {
      throw new BadUserInputError({
        limit: `Use a limit from ${CHAT_LIST_LIMITS.minLimit} to ${CHAT_LIST_LIMITS.maxLimit}.`,
      });
    }
    if (skip < 0 || skip > CHAT_LIST_LIMITS.maxSkip) {
      throw new BadUserInputError({
        skip: `Use a skip from 0 to ${CHAT_LIST_LIMITS.maxSkip}; page further with after.`,
      });
    }
    const filter: Record<string, unknown> = { userId, ...this.organizeFilter(args.filter) };
    const search = args.search?.trim();
    if (search) {
      if (search.length > CHAT_LIST_LIMITS.maxSearchLength) {
        throw new BadUserInputError({
          search: `Search for at most ${CHAT_LIST_LIMITS.maxSearchLength} characters.`,
        });
      }
      const pattern = new RegExp(escapeRegExp(search), 'i');
      // A $group rather than `distinct`: FerretDB's distinct refuses the maxTimeMS that the
      // driver's operation timeout (db/connection.ts) adds to every command.
      const inMessages = await this.models.Message.aggregate<{ _id: Types.ObjectId }>([
        { $match: { userId: new Types.ObjectId(userId), content: pattern } },
        { $group: { _id: '$chatId' } },
      ]);
      filter.$or = op([
        { title: pattern },
        { _id: op({ $in: inMessages.map((group) => group._id) }) },
      ]);
    }

    if (this.chatIds && !search) {
      // By _id from the user's chat ids: no read of the whole collection (ChatIdsByUser).
      const ids = await this.chatIds.of(userId);
      const chats = [...(await findByIds(this.models.Chat, [...ids])).values()].filter(
        (chat) => String(chat.userId) === userId && organized(chat, args.filter),
      );
      chats.sort(
        (a, b) =>
          b.updatedAt.getTime() - a.updatedAt.getTime() ||
          (String(b._id) < String(a._id) ? -1 : String(b._id) > String(a._id) ? 1 : 0),
      );
      return pageOf(chats, args.after, skip, limit);
    }
    if (databaseKindOf(this.models.Chat.db) === 'ferretdb') {
      // One read for the page and its count: each reads the whole collection there.
      const all = await this.models.Chat.find(filter).sort({ updatedAt: -1, _id: -1 }).lean();
      return pageOf(all, args.after, skip, limit);
    }
    const pageFilter = { ...filter };
    if (args.after) {
      const cursor = decodeChatCursor(args.after);
      const beforeCursor = [
        { updatedAt: op({ $lt: cursor.updatedAt }) },
        { updatedAt: cursor.updatedAt, _id: op({ $lt: new Types.ObjectId(cursor.id) }) },
      ];
      if (filter.$or) {
        delete pageFilter.$or;
        pageFilter.$and = op([{ $or: filter.$or }, { $or: op(beforeCursor) }]);
      } else {
        pageFilter.$or = op(beforeCursor);
      }
    }

    const [records, totalCount] = await Promise.all([
      this.models.Chat.find(pageFilter)
        .sort({ updatedAt: -1, _id: -1 })
        .skip(skip)
        .limit(limit + 1)
        .lean(),
      this.models.Chat.countDocuments(filter),
    ]);
    const hasNextPage = records.length > limit;
    const page = hasNextPage ? records.slice(0, limit) : records;
    const last = page[page.length - 1];
    return {
      records: page,
      totalCount,
      hasNextPage,
      endCursor: last
        ? encodeChatCursor({ updatedAt: last.updatedAt, id: String(last._id) })
        : null,
    };
  }
}

/**
 * A page of `all` (sorted by `updatedAt` descending, ties by id descending) and its count, for
 * the local database, which reads the whole collection for any filter on `userId` (db/by-id.ts):
 * the cursor, skip and limit are applied here (issue 39; figures: bench/FINDINGS.md).
 */
function pageOf(
  all: ChatRecord[],
  after: string | null | undefined,
  skip: number,
  limit: number,
): ChatPage {
  let from = 0;
  if (after) {
    const cursor = decodeChatCursor(after);
    const at = cursor.updatedAt.getTime();
    // Ids are fixed-length lowercase hex once parsed, so their string order is their order.
    const id = String(new Types.ObjectId(cursor.id));
    const beyond = (chat: ChatRecord) =>
      chat.updatedAt.getTime() < at || (chat.updatedAt.getTime() === at && String(chat._id) < id);
    from = all.findIndex(beyond);
    if (from < 0) from = all.length;
  }
  const rest = all.slice(from + skip);
  const page = rest.slice(0, limit);
  const last = page[page.length - 1];
  return {
    records: page,
    totalCount: all.length,
    hasNextPage: rest.length > limit,
    endCursor: last ? encodeChatCursor({ updatedAt: last.updatedAt, id: String(last._id) }) : null,
  };
}

/** ChatService.organizeFilter's conditions, for chats read by `_id`. */
function organized(chat: ChatRecord, filter: ChatListFilter | null | undefined): boolean {
  const archived = filter?.archived === undefined ? false : filter.archived;
  // `null` (or missing) also counts as not archived, as in the query.
  if (archived === true && chat.archivedAt == null) return false;
  if (archived === false && chat.archivedAt != null) return false;
  if (filter?.pinned === true && chat.pinned !== true) return false;
  if (filter?.pinned === false && chat.pinned === true) return false;
  if (filter?.tag != null && !(chat.tagKeys ?? []).includes(tagKey(filter.tag))) return false;
  return true;
}
