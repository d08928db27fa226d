import { isValidObjectId } from 'mongoose';
import { op } from '../../db/trusted';
import { BadUserInputError, NotFoundError } from '../../errors/errors';
import { MessageTree } from './message-tree';
import type { MessageRecord, MessageModel } from './message.model';
import { findByIds } from '../../db/by-id';
import type { SettledMessages } from './settled-messages';

export const MESSAGE_PAGE_LIMITS = { min: 1, max: 200 } as const;

/** A page request for one chat: the `limit` messages of its active branch before `before`. */
export interface MessagePageKey {
  chatId: string;
  /** The chat's active branch, root first. */
  path: readonly string[];
  limit: number;
  before?: string | null;
}

/** Reads of messages, always within a chat the caller owns (checked by the caller). */
export class MessageService {
  constructor(
    private readonly models: { Message: MessageModel },
    /** Set on the local database, where each message is read by itself (SettledMessages). */
    private readonly settled?: SettledMessages,
  ) {}

  async getOwned(userId: string, messageId: string): Promise<MessageRecord> {
    if (!isValidObjectId(messageId)) throw new NotFoundError('Message');
    // By primary key, owner checked here (see SessionService.findLive on FerretDB's scans).
    const message = await this.models.Message.findById(messageId).lean();
    if (!message || String(message.userId) !== userId) throw new NotFoundError('Message');
    return message;
  }

  /**
   * Pages of many chats in one query. A page is a slice of its chat's active branch, which the
   * chat itself lists, so all pages are one read by `_id` (flat however large the collection:
   * FerretDB scans for any other filter). The number of queries does not grow with the chats.
   */
  async pages(keys: readonly MessagePageKey[]): Promise<MessageRecord[][]> {
    for (const key of keys) {
      if (
        !Number.isInteger(key.limit) ||
        key.limit < MESSAGE_PAGE_LIMITS.min ||
        key.limit > MESSAGE_PAGE_LIMITS.max
      ) {
        throw new BadUserInputError({
          limit: `Use a limit from ${MESSAGE_PAGE_LIMITS.min} to ${MESSAGE_PAGE_LIMITS.max}.`,
        });
      }
    }
    const slices = keys.map((key) => {
      let end = key.path.length;
      // An id not on the branch (another branch, chat, or nobody's) pages nothing rather than
      // leaking anything.
      if (key.before) end = Math.max(0, key.path.indexOf(key.before));
      return key.path.slice(Math.max(0, end - key.limit), end);
    });
    const found = await this.byIds(slices.flat());
    return slices.map((ids, index) =>
      ids
        .map((id) => found.get(id))
        .filter((m): m is MessageRecord => !!m && String(m.chatId) === keys[index]!.chatId),
    );
  }

  /** Messages by id (see db/by-id.ts); ids that match nothing (yet) are left out. */
  async byIds(ids: readonly string[]): Promise<Map<string, MessageRecord>> {
    if (!this.settled) return findByIds(this.models.Message, ids);
    const found = new Map<string, MessageRecord>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const known = this.settled.get(id);
      if (known) found.set(id, known);
      else missing.push(id);
    }
    for (const [id, message] of await findByIds(this.models.Message, missing)) {
      found.set(id, message);
      this.settled.remember(message);
    }
    return found;
  }

  /** The messages on a path, root first (the history of a reply). */
  async onPath(path: readonly string[]): Promise<MessageRecord[]> {
    const found = await this.byIds(path);
    return path.map((id) => found.get(id)).filter((m): m is MessageRecord => !!m);
  }

  /** The trees of several chats, in one query of ids and parents only. */
  async trees(chatIds: readonly string[]): Promise<Map<string, MessageTree>> {
    const unique = [...new Set(chatIds)];
    const nodes = unique.length
      ? await this.models.Message.find(
          { chatId: op({ $in: unique }) },
          { _id: 1, chatId: 1, parentId: 1, createdAt: 1 },
        ).lean()
      : [];
    const byChat = new Map<string, typeof nodes>(unique.map((id) => [id, []]));
    for (const node of nodes) byChat.get(String(node.chatId))?.push(node);
    return new Map([...byChat].map(([chatId, chatNodes]) => [chatId, new MessageTree(chatNodes)]));
  }

  async tree(chatId: string): Promise<MessageTree> {
    return (await this.trees([chatId])).get(chatId)!;
  }
}
