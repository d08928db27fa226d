import type { Logger } from '../../../log/logger';
import type { ChatModel } from '../chat.model';
import type { MessageModel } from '../message.model';
import { op } from '../../../db/trusted';
import { activeBranch } from './active-branch';

/**
 * Chats written before branches existed have no `activePath` and their messages no
 * `parentId`: they were one line, in `position` order. This migration, run at startup, makes
 * each such chat that line (every message's parent is the one before it). It is idempotent and
 * writes by `_id`, so instances starting together may both run it; a chat is marked migrated
 * (its path set) only after its messages are.
 */
export async function migrateLegacyChats(
  models: { Chat: ChatModel; Message: MessageModel },
  logger: Logger,
): Promise<void> {
  const legacy = await models.Chat.find({ activePath: op({ $exists: false }) }, { _id: 1 }).lean();
  if (legacy.length === 0) return;
  for (const { _id: chatId } of legacy) {
    const messages = await models.Message.find({ chatId }, { _id: 1, position: 1 })
      .sort({ position: 1, _id: 1 })
      .lean();
    for (let index = 0; index < messages.length; index++) {
      await models.Message.updateOne(
        { _id: messages[index]!._id },
        { $set: { parentId: index === 0 ? null : messages[index - 1]!._id } },
        { timestamps: false },
      );
    }
    const path = messages.map((message) => message._id);
    await models.Chat.updateOne(
      { _id: chatId },
      { $set: activeBranch(path) },
      { timestamps: false },
    );
  }
  logger.info({ chats: legacy.length }, 'chats from before branches now have one branch each');
}
