import { isValidObjectId, Types } from 'mongoose';
import { LRUCache } from 'lru-cache';
import { findByIds, updateByIdIf } from '../../db/by-id';
import { BadUserInputError, NotFoundError } from '../../errors/errors';
import type { ImageMediaType } from '../../llm/model-client';
import {
  AttachmentStatus,
  type AttachmentModel,
  type AttachmentRecord,
  type AttachmentTextModel,
} from './attachment.model';
import type { AttachmentRemoval } from './attachment-removal';
import { isImage } from './content/media-types';
import type { AttachmentStorage } from './storage/attachment-storage';
import type { StorageQuota } from './storage-quota';

/** Base64 of images kept in memory for the next prompts of their chats, all together. */
const IMAGE_CACHE_BYTES = 64 * 1024 * 1024;

/** An attachment as a prompt carries it to a model. */
export type PromptFile =
  | { id: string; filename: string; kind: 'image'; mediaType: ImageMediaType }
  | {
      id: string;
      filename: string;
      kind: 'document';
      mediaType: string;
      text: string;
      /** How long its whole text is (`text` may be its beginning only). */
      length: number;
    };

/**
 * What chat asks of attachments: may a prompt carry these (before anything is saved), bind them
 * to the chat once it is saved, what a model is sent of them, and removal with a chat or an
 * account.
 */
export class PromptAttachments {
  private readonly images = new LRUCache<string, string>({
    maxSize: IMAGE_CACHE_BYTES,
    sizeCalculation: (data) => Math.max(1, data.length),
  });

  constructor(
    private readonly models: { Attachment: AttachmentModel; AttachmentText: AttachmentTextModel },
    private readonly storage: AttachmentStorage,
    private readonly removal: AttachmentRemoval,
    private readonly quota: StorageQuota,
    private readonly perMessage: number,
  ) {}

  /**
   * The attachments a prompt to `chatId` (null: a new chat) may carry: the caller's, uploaded,
   * and not another chat's. Someone else's (or no such) attachment is NOT_FOUND.
   */
  async check(
    userId: string,
    ids: readonly string[],
    chatId: string | null,
  ): Promise<PromptFile[]> {
    const unique = [...new Set(ids)];
    if (unique.length !== ids.length) {
      throw new BadUserInputError({ attachmentIds: 'Attach each file once.' });
    }
    if (ids.length > this.perMessage) {
      throw new BadUserInputError({
        attachmentIds: `A prompt may carry at most ${this.perMessage} attachments.`,
      });
    }
    if (ids.some((id) => !isValidObjectId(id))) throw new NotFoundError('Attachment');
    const found = await findByIds(this.models.Attachment, ids);
    const records = ids.map((id) => found.get(id));
    for (const record of records) {
      if (
        !record ||
        String(record.userId) !== userId ||
        record.status === AttachmentStatus.REMOVING
      ) {
        throw new NotFoundError('Attachment');
      }
      if (record.status !== AttachmentStatus.STORED) {
        throw new BadUserInputError({
          attachmentIds: `${record.filename} has not been uploaded yet: PUT its bytes to the uploadUrl first.`,
        });
      }
      if (record.chatId && String(record.chatId) !== chatId) {
        throw new BadUserInputError({
          attachmentIds: `${record.filename} belongs to another chat; upload it again to use it here.`,
        });
      }
    }
    return this.filesOf(records as AttachmentRecord[]);
  }

  /** What a model is sent of these attachments (those still there), by id. */
  async describe(ids: readonly string[]): Promise<Map<string, PromptFile>> {
    const found = await findByIds(this.models.Attachment, ids);
    const stored = [...found.values()].filter((r) => r.status === AttachmentStatus.STORED);
    return new Map((await this.filesOf(stored)).map((file) => [file.id, file]));
  }

  /** The names and types of these attachments (those still there), by id: what a shared link shows. */
  async labelsOf(
    ids: readonly string[],
  ): Promise<Map<string, { filename: string; mediaType: string }>> {
    const found = await findByIds(this.models.Attachment, ids);
    return new Map(
      [...found.values()]
        .filter((record) => record.status === AttachmentStatus.STORED)
        .map((record) => [
          String(record._id),
          { filename: record.filename, mediaType: record.mediaType },
        ]),
    );
  }

  /** The bytes of an image, base64 (cached: a chat's images go with each of its prompts). */
  async imageData(id: string): Promise<string> {
    const cached = this.images.get(id);
    if (cached !== undefined) return cached;
    const chunks: Buffer[] = [];
    for await (const chunk of this.storage.read(id)) chunks.push(chunk as Buffer);
    const data = Buffer.concat(chunks).toString('base64');
    this.images.set(id, data);
    return data;
  }

  /**
   * A saved prompt carries these now: they belong to its chat and go with it. False when one is
   * no longer there to take (removed since it was checked).
   */
  async bind(ids: readonly string[], chatId: string): Promise<boolean> {
    const boundHere: string[] = [];
    for (const id of ids) {
      const bound = await updateByIdIf(
        this.models.Attachment,
        id,
        { status: AttachmentStatus.STORED, chatId: null },
        { $set: { chatId: new Types.ObjectId(chatId) } },
      );
      if (bound) {
        boundHere.push(id);
        continue;
      }
      // Taken by this chat already (an edit keeps its prompt's attachments), or gone.
      const now = await this.models.Attachment.findById(id).lean();
      if (now?.status === AttachmentStatus.STORED && String(now.chatId) === chatId) continue;
      // The prompt is taken back: the others are unsent again (deletable, swept in time).
      for (const taken of boundHere) {
        await updateByIdIf(
          this.models.Attachment,
          taken,
          { status: AttachmentStatus.STORED, chatId },
          { $set: { chatId: null } },
        );
      }
      return false;
    }
    return true;
  }

  /** Removes the attachments of a deleted chat, bytes and all. */
  async eraseChat(chatId: string): Promise<void> {
    const records = await this.models.Attachment.find({
      chatId: new Types.ObjectId(chatId),
    }).lean();
    for (const record of records) {
      this.images.delete(String(record._id));
      await this.removal.remove(record, { status: record.status, chatId });
    }
  }

  /** Removes every attachment of a user (the account is being deleted). */
  async eraseUser(userId: string): Promise<void> {
    const records = await this.models.Attachment.find({
      userId: new Types.ObjectId(userId),
    }).lean();
    for (const record of records) {
      this.images.delete(String(record._id));
      await this.removal.discard(record);
    }
    await this.quota.forget(userId);
  }

  private async filesOf(records: AttachmentRecord[]): Promise<PromptFile[]> {
    const documents = records.filter((record) => !isImage(record.mediaType));
    const texts = await findByIds(
      this.models.AttachmentText,
      documents.map((record) => record._id),
    );
    return records.map((record): PromptFile => {
      const id = String(record._id);
      if (isImage(record.mediaType)) {
        return { id, filename: record.filename, kind: 'image', mediaType: record.mediaType };
      }
      const text = texts.get(id);
      return {
        id,
        filename: record.filename,
        kind: 'document',
        mediaType: record.mediaType,
        text: text?.text ?? '',
        length: text?.length ?? 0,
      };
    });
  }
}
