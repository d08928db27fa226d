import { isValidObjectId } from 'mongoose';
import type { Models } from '../models';
import { op } from '../../db/trusted';
import { BadUserInputError, NotFoundError } from '../../errors/errors';
import type { MessageRecord } from './message.model';

export const MESSAGE_PAGE_LIMITS = { min: 1, max: 200 } as const;

/** A page request for one chat: the `limit` messages before `before` (or the latest). */
export interface MessagePageKey {
  chatId: string;
  messageCount: number;
  limit: number;
  before?: string | null;
}

/** Reads of messages, always within a chat the caller owns (checked by the caller). */
export class MessageService {
  constructor(private readonly models: Models) {}

  async getOwned(userId: string, messageId: string): Promise<MessageRecord> {
    if (!isValidObjectId(messageId)) throw new NotFoundError('Message');
    // By primary key, owner checked here (see SessionService.findLive on FerretDB's scans).
    const message = await this.models.Message.findById(messageId).lean();
    if (!message || String(message.userId) !== userId) throw new NotFoundError('Message');
    return message;
  }

  /**
   * Pages of many chats in one query. A message's `position` is its number in the chat, so
   * "the last N before X" is a position range per chat, and all ranges fit in one `$or`:
   * the number of queries does not grow with the number of chats on a page.
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
    const beforeIds = [
      ...new Set(keys.map((key) => key.before).filter((id): id is string => !!id)),
    ];
    const anchors = new Map<string, { chatId: string; position: number }>();
    if (beforeIds.length > 0) {
      const valid = beforeIds.filter((id) => isValidObjectId(id));
      const found = valid.length
        ? await this.models.Message.find(
            { _id: op({ $in: valid }) },
            { chatId: 1, position: 1 },
          ).lean()
        : [];
      for (const anchor of found)
        anchors.set(String(anchor._id), {
          chatId: String(anchor.chatId),
          position: anchor.position,
        });
    }

    const ranges = keys.map((key) => {
      let end = key.messageCount + 1;
      if (key.before) {
        const anchor = anchors.get(key.before);
        // An id from another chat (or nobody's) pages nothing rather than leaking anything.
        end = anchor && anchor.chatId === key.chatId ? anchor.position : 0;
      }
      return { chatId: key.chatId, from: Math.max(1, end - key.limit), to: end };
    });
    const wanted = ranges.filter((range) => range.to > range.from);
    const found = wanted.length
      ? await this.models.Message.find({
          $or: op(
            wanted.map((range) => ({
              chatId: range.chatId,
              position: op({ $gte: range.from, $lt: range.to }),
            })),
          ),
        })
          .sort({ position: 1 })
          .lean()
      : [];
    return ranges.map((range) =>
      found.filter(
        (m) =>
          String(m.chatId) === range.chatId && m.position >= range.from && m.position < range.to,
      ),
    );
  }

  /** The newest earlier messages of a chat, newest first, for the model's history. */
  async earlier(chatId: string, beforePosition: number, max: number): Promise<MessageRecord[]> {
    return this.models.Message.find({ chatId, position: op({ $lt: beforePosition }) })
      .sort({ position: -1 })
      .limit(max)
      .lean();
  }
}
