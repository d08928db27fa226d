import { isValidObjectId, Types } from 'mongoose';
import type { UserModel } from '../../users/user.model';
import type { ChatModel } from '../chat.model';
import { BadUserInputError, NotFoundError } from '../../../errors/errors';
import type { RateLimits } from '../../../rate-limit/rate-limits';
import type { ChatService } from '../chat.service';
import type { MessageService } from '../message.service';
import type {
  ChatShareRecord,
  ChatShareModel,
  SharedAttachmentRecord,
  SharedMessageRecord,
} from './chat-share.model';
import type { MessageRecord } from '../message.model';
import type { PromptAttachments } from '../../attachments/prompt-attachments';
import type { ChatShare, SharedChat } from './chat-share.types';
import { hashShareToken, newShareNonce, shareToken } from './share-tokens';
import type { OpenAccounts } from '../open-accounts';
import { KeyedLocks } from '../../../util/keyed-locks';
import { op } from '../../../db/trusted';
import { orUndo } from '../../../util/or-undo';

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
    private readonly models: { User: UserModel; Chat: ChatModel; ChatShare: ChatShareModel },
    private readonly chats: ChatService,
    private readonly messages: MessageService,
    private readonly rateLimits: RateLimits,
    private readonly settings: ShareSettings,
    private readonly accounts: OpenAccounts,
    private readonly attachments: Pick<PromptAttachments, 'labelsOf'>,
  ) {}

  /**
   * A new link, within the limits: stored, then counted with the links stored before it (by
   * id), and taken back when that is over a limit, or when anything after storing it fails
   * (an error never leaves a live link behind). In this process one user's links are made one
   * at a time, so ids grow in the order links are stored and the limits are exact: of many
   * concurrent calls, only those past a limit are refused; across instances a link stored past
   * a limit still takes itself back.
   */
  async share(userId: string, chatId: string): Promise<ChatShare> {
    const chat = await this.chats.get(userId, chatId);
    return shareLocks.run(userId, async () => {
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
        messages: await this.snapshotOf(messages),
      });
      await orUndo(
        async () => {
          await this.accounts.assertOpen(userId);
          await this.assertWithinLimits(chat.userId, chat._id, _id);
        },
        () => this.models.ChatShare.deleteOne({ _id }),
      );
      return this.toShare(record.toObject());
    });
  }

  /** Refuses (BAD_USER_INPUT) a link past either limit, counting it and those stored before it. */
  private async assertWithinLimits(
    userId: Types.ObjectId,
    chatId: Types.ObjectId,
    shareId: Types.ObjectId,
  ): Promise<void> {
    const upTo = op({ $lte: shareId });
    const [inChat, ofUser] = await Promise.all([
      this.models.ChatShare.countDocuments({ chatId, _id: upTo }),
      this.models.ChatShare.countDocuments({ userId, _id: upTo }),
    ]);
    const refusal =
      inChat > SHARE_LIMITS.perChat
        ? `A chat may have at most ${SHARE_LIMITS.perChat} live links; revoke one first (unshareChat).`
        : ofUser > SHARE_LIMITS.perUser
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
      messages: share.messages.map(({ role, content, createdAt, attachments }) => ({
        role,
        content,
        createdAt,
        attachments: (attachments ?? []).map(({ filename, mediaType }) => ({
          filename,
          mediaType,
        })),
      })),
    };
  }

  /** The messages as a link shows them: text, and attachments by name and type only. */
  private async snapshotOf(messages: MessageRecord[]): Promise<SharedMessageRecord[]> {
    const ids = messages.flatMap((message) => message.attachmentIds ?? []).map(String);
    const labels = ids.length ? await this.attachments.labelsOf(ids) : new Map();
    return messages.map(({ role, content, createdAt, attachmentIds }) => ({
      role,
      content,
      createdAt,
      ...(attachmentIds?.length
        ? {
            attachments: attachmentIds
              .map((id) => labels.get(String(id)))
              .filter((label): label is SharedAttachmentRecord => !!label),
          }
        : {}),
    }));
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
