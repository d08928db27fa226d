import { NotFoundError } from '../../../errors/errors';
import type { ChatEvents } from '../chat-events';
import { ChatEventType } from '../chat-enums';
import type { ChatRecord, ChatModel } from '../chat.model';
import type { ChatService } from '../chat.service';
import type { MessageService } from '../message.service';
import { activeBranch } from './active-branch';
import { updateByIdIf } from '../../../db/by-id';

/** switchBranch: which branch of a chat the user sees (and the next prompt continues). */
export class BranchService {
  constructor(
    private readonly models: { Chat: ChatModel },
    private readonly chats: ChatService,
    private readonly messages: MessageService,
    private readonly events: ChatEvents,
  ) {}

  /** Makes the deepest leaf under `messageId` active, taking the latest child at each step. */
  async switchTo(userId: string, messageId: string): Promise<ChatRecord> {
    const message = await this.messages.getOwned(userId, messageId);
    const chat = await this.chats.get(userId, String(message.chatId));
    const path = (await this.messages.tree(String(chat._id))).pathThroughLatest(messageId);
    if (path.length === 0) throw new NotFoundError('Message');
    const updated = await updateByIdIf(
      this.models.Chat,
      chat._id,
      { userId },
      // The branch the user sees is not a change of the chat: keep its place in the list.
      { $set: activeBranch(path) },
      { timestamps: false },
    );
    if (!updated) throw new NotFoundError('Chat');
    this.events.publish(userId, { type: ChatEventType.UPDATED, chatId: String(chat._id) });
    return updated;
  }
}
