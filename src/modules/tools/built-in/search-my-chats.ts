import { Types } from 'mongoose';
import { z } from 'zod';
import { op } from '../../../db/trusted';
import type { ChatModel } from '../../chat/chat.model';
import type { MessageModel } from '../../chat/message.model';
import { builtInTool } from './built-in-tool';

const MAX_HITS = 8;
const SNIPPET_CHARS = 240;

/**
 * Finds the caller's own earlier messages that contain some words, so the model can recall
 * earlier conversations. Only the calling user's messages are read (`userId` from the reply,
 * never from the model), and the words are matched literally (escaped), never as a pattern.
 */
export const searchMyChats = (
  models: { Chat: ChatModel; Message: MessageModel },
  requiresApproval: boolean,
) =>
  builtInTool({
    name: 'search_my_chats',
    description:
      "Searches the user's own earlier chats for messages containing the given words; returns each hit's chat title, date and an excerpt.",
    schema: z.object({
      query: z.string().trim().min(2).max(200).describe('Words to look for, matched as written.'),
    }),
    requiresApproval,
    run: async ({ query }, { userId }) => {
      const pattern = query.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const hits = await models.Message.find(
        { userId: new Types.ObjectId(userId), content: op({ $regex: pattern, $options: 'i' }) },
        { chatId: 1, content: 1, role: 1, createdAt: 1 },
      )
        .sort({ createdAt: -1 })
        .limit(MAX_HITS)
        .lean();
      if (hits.length === 0) return { result: 'No earlier message contains that.', isError: false };
      const chats = await models.Chat.find(
        { _id: op({ $in: [...new Set(hits.map((hit) => String(hit.chatId)))] }) },
        { title: 1 },
      ).lean();
      const titles = new Map(chats.map((chat) => [String(chat._id), chat.title]));
      const lines = hits.map((hit) => {
        const at = hit.content.toLowerCase().indexOf(query.toLowerCase());
        const start = Math.max(0, at - SNIPPET_CHARS / 2);
        const excerpt = hit.content.slice(start, start + SNIPPET_CHARS).replace(/\s+/g, ' ');
        const title = titles.get(String(hit.chatId)) ?? '(untitled)';
        return `- "${title}" (${hit.createdAt.toISOString().slice(0, 10)}, ${hit.role.toLowerCase()}): …${excerpt}…`;
      });
      return { result: lines.join('\n'), isError: false };
    },
  });
