import { updateByIdIf } from '../../db/by-id';
import { MessageStatus } from './chat-enums';
import type { MessageRecord, MessageModel } from './message.model';
import type { MessageService } from './message.service';
import type { StopReason } from './streaming/reply';
import type { ClusterReplies } from './streaming/cluster/cluster-replies';
import type { ReplyManager } from './streaming/reply-manager';

/**
 * stopGeneration, and the stop of a chat's replies when it is deleted: a reply is stopped by
 * the process that writes it, here or (in a cluster) on another instance, and aborts its
 * upstream request at once; the text so far is kept.
 */
export class StopReplyService {
  constructor(
    private readonly models: { Message: MessageModel },
    private readonly messages: MessageService,
    private readonly replies: ReplyManager,
    /** Set in a cluster: reaches the owner of a reply written elsewhere. */
    private readonly cluster?: ClusterReplies,
  ) {}

  async stop(userId: string, messageId: string): Promise<MessageRecord> {
    // A reply of this process is stopped before anything is read, so a stop never queues behind
    // the database (issue 39). Its owner is known in memory; any other caller takes the path
    // below, where getOwned answers NOT_FOUND exactly as for an id that does not exist.
    const running = this.replies.get(messageId);
    if (running && running.request.userId === userId) {
      return (await running.stop('stopped')) ?? (await this.messages.getOwned(userId, messageId));
    }
    const message = await this.messages.getOwned(userId, messageId);
    if (message.status !== MessageStatus.STREAMING) return message;
    const reply = this.replies.get(messageId);
    if (reply) return (await reply.stop('stopped')) ?? message;
    const remote = await this.cluster?.stopRemote(messageId, 'stopped');
    if (remote) return remote;
    // Streaming in no process (an instance that died): settle it as stopped. By _id with the
    // status checked (db/by-id.ts: any other filter reads every message on the local
    // database); getOwned proved the owner.
    const settled = await updateByIdIf(
      this.models.Message,
      messageId,
      { status: MessageStatus.STREAMING },
      { $set: { status: MessageStatus.STOPPED } },
    );
    return settled ?? (await this.messages.getOwned(userId, messageId));
  }

  /**
   * Signals at once, before the chat is read, the replies this process writes in the user's
   * chat (deleteChat, issue 39); stopChat then waits for them once the chat is proven theirs.
   */
  signalChat(userId: string, chatId: string, reason: StopReason): void {
    this.replies.signalChat(userId, chatId, reason);
  }

  /** Stops every reply of a chat (it is being deleted) and waits until they have ended. */
  async stopChat(chatId: string, reason: StopReason): Promise<void> {
    await this.replies.stopChat(chatId, reason);
    if (!this.cluster) return;
    const elsewhere = await this.models.Message.find(
      { chatId, status: MessageStatus.STREAMING },
      { _id: 1 },
    ).lean();
    await Promise.all(elsewhere.map(({ _id }) => this.cluster!.stopRemote(String(_id), reason)));
  }
}
