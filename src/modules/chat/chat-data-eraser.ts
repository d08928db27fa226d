import type { ChatModel } from './chat.model';
import type { MessageModel } from './message.model';
import type { ChatShareModel } from './sharing/chat-share.model';
import type { StopReplyService } from './stop-reply.service';
import type { SettledMessages } from './settled-messages';
import type { ChatIdsByUser } from './chat-ids-by-user';

/** Everything chat keeps of one user, removed when the account is deleted. */
export class ChatDataEraser {
  constructor(
    private readonly models: { Chat: ChatModel; Message: MessageModel; ChatShare: ChatShareModel },
    private readonly stops: StopReplyService,
    /** The messages kept in memory on the local database: the account's are forgotten. */
    private readonly settled?: SettledMessages,
    /** The ids of each user's chats, kept in memory on the local database. */
    private readonly chatIds?: ChatIdsByUser,
  ) {}

  async eraseUser(userId: string): Promise<void> {
    // Links first: none may outlive the account even if a later step fails.
    await this.models.ChatShare.deleteMany({ userId });
    const chats = await this.models.Chat.find({ userId }, { _id: 1 }).lean();
    // Replies still being written stop (here or on their instance) before their chat goes.
    for (const { _id } of chats) await this.stops.stopChat(String(_id), 'deleted');
    await this.models.Message.deleteMany({ userId });
    this.settled?.forgetUser(userId);
    await this.models.Chat.deleteMany({ userId });
    this.chatIds?.forgetUser(userId);
  }
}
