import { isValidObjectId, Types } from 'mongoose';
import type { Models } from '../../models';
import { BadUserInputError, NotFoundError } from '../../../errors/errors';
import type { RateLimits } from '../../../rate-limit/rate-limits';
import type { ChatService } from '../chat.service';
import type { MessageService } from '../message.service';
import type { ChatShareRecord } from './chat-share.model';
import type { ChatShare, SharedChat } from './chat-share.types';
import { hashShareToken, newShareNonce, shareToken } from './share-tokens';
import { keepUnlessClosing, type OpenAccounts } from '../open-accounts';

/** Live links one chat and one user may have: each holds a copy of the branch it shows. */
export const SHARE_LIMITS = { perChat: 20, perUser: 200 } as const;

export interface ShareSettings {
  appUrl: string;
  secretKey: string;
}

/**
 * shareChat, unshareChat, chatShares and the public sharedChat. A share is a copy of the
 * active branch taken when it is made: later messages, edits and renames never show through.
 */
export class ChatShareService {
  constructor(
    private readonly models: Models,
    private readonly chats: ChatService,
    private readonly messages: MessageService,
    private readonly rateLimits: RateLimits,
    private readonly settings: ShareSettings,
    private readonly accounts: OpenAccounts,
  ) {}

  async share(userId: string, chatId: string): Promise<ChatShare> {
    const chat = await this.chats.get(userId, chatId);
    const messages = await this.messages.onPath((chat.activePath ?? []).map(String));
    const _id = new Types.ObjectId();
    const nonce = newShareNonce();
    const record = await this.models.ChatShare.create({
      _id,
      userId: chat.userId,
      chatId: chat._id,
      nonce,
      tokenHash: hashShareToken(this.tokenOf(String(_id), nonce)),
      title: chat.title,
      chatCreatedAt: chat.createdAt,
      messageCount: messages.length,
      messages: messages.map(({ role, content, createdAt }) => ({ role, content, createdAt })),
    });
    const takeBack = () => this.models.ChatShare.deleteOne({ _id });
    await keepUnlessClosing(this.accounts, userId, takeBack);
    await this.withinLimits(chat.userId, chat._id, takeBack);
    return this.toShare(record.toObject());
  }

  /**
   * Counted after the new link is stored, with it: of links made at once near a limit, each
   * sees the others and every one past the limit takes itself back, so the count never ends
   * above it (a few may be refused that a slower client would have got).
   */
  private async withinLimits(
    userId: Types.ObjectId,
    chatId: Types.ObjectId,
    takeBack: () => Promise<unknown>,
  ): Promise<void> {
    const [forChat, forUser] = await Promise.all([
      this.models.ChatShare.countDocuments({ chatId }),
      this.models.ChatShare.countDocuments({ userId }),
    ]);
    const refusal =
      forChat > SHARE_LIMITS.perChat
        ? `A chat may have at most ${SHARE_LIMITS.perChat} live links; revoke one first (unshareChat).`
        : forUser > SHARE_LIMITS.perUser
          ? `You may have at most ${SHARE_LIMITS.perUser} live links; revoke one first (unshareChat).`
          : null;
    if (!refusal) return;
    await takeBack();
    throw new BadUserInputError({ id: refusal }, refusal);
  }

  async unshare(userId: string, shareId: string): Promise<true> {
    if (!isValidObjectId(shareId)) throw new NotFoundError('Share');
    const result = await this.models.ChatShare.deleteOne({ _id: shareId, userId });
    if (result.deletedCount === 0) throw new NotFoundError('Share');
    return true;
  }

  /** The live links of one of the caller's chats, newest first, a page at a time. */
  async list(
    userId: string,
    chatId: string,
    page: { limit: number; skip: number },
  ): Promise<ChatShare[]> {
    await this.chats.get(userId, chatId);
    const shares = await this.models.ChatShare.find({ chatId, userId }, { messages: 0 })
      .sort({ createdAt: -1, _id: -1 })
      .skip(page.skip)
      .limit(page.limit)
      .lean();
    return shares.map((share) => this.toShare(share));
  }

  /**
   * A link's snapshot, for anyone holding it. Every token costs the same reads, known or not
   * (its hash, then the owner and the chat by id): the answer's timing says nothing about which
   * tokens exist. A chat or account that is gone takes its links with it.
   */
  async read(token: string, clientIp: string): Promise<SharedChat> {
    await this.rateLimits.consume('sharedChatPerIp', clientIp);
    const share = await this.models.ChatShare.findOne({ tokenHash: hashShareToken(token) }).lean();
    const nobody = new Types.ObjectId();
    const [owner, chat] = await Promise.all([
      this.models.User.exists({ _id: share?.userId ?? nobody }),
      this.models.Chat.exists({ _id: share?.chatId ?? nobody }),
    ]);
    if (!share || !owner || !chat) throw new NotFoundError('Shared chat');
    return {
      title: share.title,
      createdAt: share.chatCreatedAt,
      messages: share.messages.map(({ role, content, createdAt }) => ({
        role,
        content,
        createdAt,
      })),
    };
  }

  private tokenOf(shareId: string, nonce: string): string {
    return shareToken(this.settings.secretKey, shareId, nonce);
  }

  private toShare(record: Omit<ChatShareRecord, 'messages'>): ChatShare {
    const token = this.tokenOf(String(record._id), record.nonce);
    return {
      id: String(record._id),
      token,
      url: `${this.settings.appUrl}/share/${token}`,
      createdAt: record.createdAt,
      messageCount: record.messageCount,
    };
  }
}
