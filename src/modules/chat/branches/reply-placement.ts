import { Types } from 'mongoose';
import { op } from '../../../db/trusted';
import { BadUserInputError, ConflictError, NotFoundError } from '../../../errors/errors';
import { MessageRole, MessageStatus } from '../chat-enums';
import { TitleSource, type ChatRecord, type StoredLlmConfig, type ChatModel } from '../chat.model';
import { titleFromPrompt } from '../titles';
import { activeBranch } from './active-branch';
import type { MessageRecord, MessageModel } from '../message.model';
import type { MessageService } from '../message.service';
import type { ChatIdsByUser } from '../chat-ids-by-user';
import { insertRecords, updateByIdIf } from '../../../db/by-id';
import { orUndo } from '../../../util/or-undo';

/** A send re-reads the chat this many times when other sends keep moving its leaf. */
const MAX_LEAF_RACES = 10;

/** Where a new reply goes in its chat's tree, once it is saved there. */
export interface Placement {
  chat: ChatRecord;
  userMessage: MessageRecord;
  assistantMessage: MessageRecord;
  /** The messages the model reads before the prompt: the branch above it, root first. */
  historyPath: string[];
  /** The messages this call saved (the prompt too, unless regenerating). */
  added: MessageRecord[];
  createdChat: boolean;
}

export interface NewMessages {
  userId: string;
  config: StoredLlmConfig;
  idempotencyKey?: string;
  /** What a new prompt carries (checked by the caller). */
  attachmentIds?: Types.ObjectId[];
}

/**
 * Saves a prompt and its STREAMING reply (or a reply alone) into the chat's tree and makes
 * them the active branch. Messages are saved first, the chat's branch second: a retry whose
 * `clientMessageId` is taken fails on the first insert, with nothing to undo. Every write is by
 * `_id`; only a send to a chat checks (compare and set) that the leaf it follows is still the
 * leaf, so two sends at once make one line, never a silent fork.
 */
export class ReplyPlacement {
  constructor(
    private readonly models: { Chat: ChatModel; Message: MessageModel },
    private readonly messages: MessageService,
    /** The ids of each user's chats, kept in memory on the local database. */
    private readonly chatIds?: ChatIdsByUser,
  ) {}

  /** sendMessage without a chat: a new chat holding the prompt and the reply. */
  async inNewChat(
    message: NewMessages,
    prompt: string,
    systemInstructions: string | null | undefined,
  ): Promise<Placement> {
    const chatId = new Types.ObjectId();
    const [userMessage, assistantMessage] = await this.savePair(chatId, null, 0, message, prompt);
    const [chat] = await orUndo(
      () =>
        insertRecords(this.models.Chat, [
          {
            _id: chatId,
            userId: new Types.ObjectId(message.userId),
            title: titleFromPrompt(prompt),
            titleSource: TitleSource.PROMPT,
            systemInstructions: systemInstructions || null,
            config: message.config,
            messageCount: 2,
            ...activeBranch([userMessage._id, assistantMessage._id]),
          },
        ]),
      this.removeMessages([userMessage, assistantMessage]),
    );
    this.chatIds?.added(message.userId, String(chatId));
    return {
      chat: chat!,
      userMessage,
      assistantMessage,
      historyPath: [],
      added: [userMessage, assistantMessage],
      createdChat: true,
    };
  }

  /** sendMessage with a chat: under the active leaf. */
  async afterLeaf(chat: ChatRecord, message: NewMessages, prompt: string): Promise<Placement> {
    let current = chat;
    let leaf = current.activeLeafId ?? null;
    const [userMessage, assistantMessage] = await this.savePair(
      chat._id,
      leaf,
      current.messageCount,
      message,
      prompt,
    );
    for (let race = 0; race < MAX_LEAF_RACES; race++) {
      const path = current.activePath ?? [];
      const updated = await updateByIdIf(
        this.models.Chat,
        chat._id,
        { activeLeafId: leaf },
        {
          $set: activeBranch([...path, userMessage._id, assistantMessage._id]),
          $inc: { messageCount: 2 },
        },
      );
      if (updated) {
        return {
          chat: updated,
          userMessage,
          assistantMessage,
          historyPath: path.map(String),
          added: [userMessage, assistantMessage],
          createdChat: false,
        };
      }
      // Another send (or a branch switch) moved the leaf: follow the new one.
      const reread = await this.models.Chat.findById(chat._id).lean();
      if (!reread) {
        await this.removeMessages([userMessage, assistantMessage])();
        throw new NotFoundError('Chat');
      }
      current = reread;
      leaf = current.activeLeafId ?? null;
      userMessage.parentId = leaf;
      userMessage.position = current.messageCount + 1;
      assistantMessage.position = current.messageCount + 2;
      await Promise.all([
        this.models.Message.updateOne(
          { _id: userMessage._id },
          { $set: { parentId: leaf, position: userMessage.position } },
        ),
        this.models.Message.updateOne(
          { _id: assistantMessage._id },
          { $set: { position: assistantMessage.position } },
        ),
      ]);
    }
    throw new ConflictError('This chat is changing too fast; send the prompt again.');
  }

  /** editMessage: a new prompt beside `original`, with its reply. */
  async editOf(
    chat: ChatRecord,
    original: MessageRecord,
    message: NewMessages,
    prompt: string,
  ): Promise<Placement> {
    const pathAbove = await this.pathAbove(chat, original);
    const parentId = original.parentId ?? null;
    const [userMessage, assistantMessage] = await this.savePair(
      chat._id,
      parentId,
      chat.messageCount,
      message,
      prompt,
    );
    const updated = await orUndo(
      () =>
        this.activate(
          chat,
          [...pathAbove, String(userMessage._id), String(assistantMessage._id)],
          2,
        ),
      this.removeMessages([userMessage, assistantMessage]),
    );
    return {
      chat: updated,
      userMessage,
      assistantMessage,
      historyPath: pathAbove,
      added: [userMessage, assistantMessage],
      createdChat: false,
    };
  }

  /** regenerateReply: a new reply beside `original`, to the same prompt. */
  async regenerationOf(
    chat: ChatRecord,
    original: MessageRecord,
    message: NewMessages,
  ): Promise<Placement> {
    const pathAbove = await this.pathAbove(chat, original);
    const promptId = pathAbove[pathAbove.length - 1];
    // By _id alone, the chat checked here: `{ _id, chatId }` reads every message on the local
    // database (db/by-id.ts), and this runs on every regenerateReply (issue 39).
    const found = promptId ? await this.models.Message.findById(promptId).lean() : null;
    const userMessage = found && String(found.chatId) === String(chat._id) ? found : null;
    if (!userMessage || userMessage.role !== MessageRole.USER) {
      throw new BadUserInputError({ messageId: 'This reply has no prompt to answer again.' });
    }
    const assistantMessage = await this.saveReply(
      chat._id,
      userMessage._id,
      chat.messageCount + 1,
      message,
      message.idempotencyKey,
    );
    const updated = await orUndo(
      () => this.activate(chat, [...pathAbove, String(assistantMessage._id)], 1),
      this.removeMessages([assistantMessage]),
    );
    return {
      chat: updated,
      userMessage,
      assistantMessage,
      historyPath: pathAbove.slice(0, -1),
      added: [assistantMessage],
      createdChat: false,
    };
  }

  /**
   * Takes a placement back (its account is closing): the messages it saved, and the chat it
   * created. A chat it joined stays as it is: the deletion erases it.
   */
  async remove(placed: Placement): Promise<void> {
    await this.removeMessages(placed.added)();
    if (placed.createdChat) {
      await this.models.Chat.deleteOne({ _id: placed.chat._id });
      this.chatIds?.removed(String(placed.chat.userId), String(placed.chat._id));
    }
  }

  /**
   * Removes messages this placement saved, when the step that links them into their chat
   * failed (the chat went meanwhile): no prompt or STREAMING reply is left with no chat.
   */
  private removeMessages(saved: MessageRecord[]): () => Promise<unknown> {
    return () => this.models.Message.deleteMany({ _id: op({ $in: saved.map(({ _id }) => _id) }) });
  }

  /** The branch above a message, root first: from the active path when it is on it. */
  private async pathAbove(chat: ChatRecord, message: MessageRecord): Promise<string[]> {
    const active = (chat.activePath ?? []).map(String);
    const index = active.indexOf(String(message._id));
    if (index >= 0) return active.slice(0, index);
    if (!message.parentId) return [];
    return (await this.messages.tree(String(chat._id))).pathTo(String(message.parentId));
  }

  /** Makes `path` the chat's active branch and counts the `added` new messages. */
  private async activate(chat: ChatRecord, path: string[], added: number): Promise<ChatRecord> {
    // Through the same lock as a send's compare-and-set of the leaf (by-id.ts).
    const updated = await updateByIdIf(
      this.models.Chat,
      chat._id,
      {},
      { $set: activeBranch(path), $inc: { messageCount: added } },
    );
    if (!updated) throw new NotFoundError('Chat');
    return updated;
  }

  /** The prompt and its STREAMING reply, in one command: the prompt first, so that a taken
   * idempotency key stops both. */
  private async savePair(
    chatId: Types.ObjectId,
    parentId: Types.ObjectId | null,
    messageCount: number,
    message: NewMessages,
    prompt: string,
  ): Promise<[MessageRecord, MessageRecord]> {
    const userMessageId = new Types.ObjectId();
    const replyId = new Types.ObjectId();
    const [userMessage, assistantMessage] = await insertRecords(this.models.Message, [
      {
        _id: userMessageId,
        chatId,
        userId: new Types.ObjectId(message.userId),
        parentId,
        position: messageCount + 1,
        role: MessageRole.USER,
        content: prompt,
        status: MessageStatus.COMPLETE,
        ...(message.attachmentIds?.length ? { attachmentIds: message.attachmentIds } : {}),
        idempotencyKey: message.idempotencyKey,
        replyId,
      },
      newReply(replyId, chatId, userMessageId, messageCount + 2, message, undefined),
    ]);
    return [userMessage!, assistantMessage!];
  }

  private async saveReply(
    chatId: Types.ObjectId,
    parentId: Types.ObjectId,
    position: number,
    message: NewMessages,
    idempotencyKey: string | undefined,
  ): Promise<MessageRecord> {
    const [reply] = await insertRecords(this.models.Message, [
      newReply(new Types.ObjectId(), chatId, parentId, position, message, idempotencyKey),
    ]);
    return reply!;
  }
}

/** A reply about to be written: empty, STREAMING, with the model that writes it. */
function newReply(
  id: Types.ObjectId,
  chatId: Types.ObjectId,
  parentId: Types.ObjectId,
  position: number,
  message: NewMessages,
  idempotencyKey: string | undefined,
) {
  return {
    _id: id,
    chatId,
    userId: new Types.ObjectId(message.userId),
    parentId,
    position,
    role: MessageRole.ASSISTANT,
    content: '',
    status: MessageStatus.STREAMING,
    config: message.config,
    idempotencyKey,
  };
}
