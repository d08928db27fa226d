import { isValidObjectId, Types } from 'mongoose';
import type { Models } from '../../models';
import { BadUserInputError, NotFoundError } from '../../../errors/errors';
import type { RateLimits } from '../../../rate-limit/rate-limits';
import type { ChatService } from '../chat.service';
import type { MessageService } from '../message.service';
import type { ChatShareRecord } from './chat-share.model';
import type { ChatShare, SharedChat } from './chat-share.types';
import { hashShareToken, newShareNonce, shareToken } from './share-tokens';
import type { OpenAccounts } from '../open-accounts';
import { KeyedLocks } from '../../../util/keyed-locks';
import { op } from '../../../db/trusted';

/** Live links one chat and one user may have: each holds a copy of the branch it shows. */
export const SHARE_LIMITS = { perChat: 20, perUser: 200 } as const;

/** One user's links are made one at a time in this process. */
const shareLocks = new KeyedLocks();

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

  /**
   * A new link, within the limits. In this process one user's links are made one at a time
   * (counted, then stored), so the limits are exact and concurrent calls are refused only at
   * them; across instances, a link stored past a limit by id takes itself back. Whatever fails
   * after the link is stored takes it back too: an error never leaves a live link behind.
   */
  async share(userId: string, chatId: string): Promise<ChatShare> {
    const chat = await this.chats.get(userId, chatId);
    return shareLocks.run(userId, async () => {
      await this.assertRoom({ chatId: chat._id }, { userId: chat.userId });
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
      try {
        await this.accounts.assertOpen(userId);
        const upTo = op({ $lte: _id });
        await this.assertRoom(
          { chatId: chat._id, _id: upTo },
          { userId: chat.userId, _id: upTo },
          true,
        );
      } catch (error) {
        await this.models.ChatShare.deleteOne({ _id }).catch(() => undefined);
        throw error;
      }
      return this.toShare(record.toObject());
    });
  }

  /**
   * Refuses (BAD_USER_INPUT) when the chat's or the user's links matching these filters leave
   * no room: before storing, none may be at a limit; after (`stored`), the new one may be the
   * limit's last.
   */
  private async assertRoom(
    forChat: Record<string, unknown>,
    forUser: Record<string, unknown>,
    stored = false,
  ): Promise<void> {
    const slack = stored ? 1 : 0;
    const [inChat, ofUser] = await Promise.all([
      this.models.ChatShare.countDocuments(forChat),
      this.models.ChatShare.countDocuments(forUser),
    ]);
    const refusal =
      inChat >= SHARE_LIMITS.perChat + slack
        ? `A chat may have at most ${SHARE_LIMITS.perChat} live links; revoke one first (unshareChat).`
        : ofUser >= SHARE_LIMITS.perUser + slack
          ? `You may have at most ${SHARE_LIMITS.perUser} live links; revoke one first (unshareChat).`
          : null;
    if (refusal) throw new BadUserInputError({ id: refusal }, refusal);
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
