import { isValidObjectId, Types } from 'mongoose';
import { findByIds } from '../../db/by-id';
import { op } from '../../db/trusted';
import { BadUserInputError, ConflictError, NotFoundError } from '../../errors/errors';
import type { Viewer } from '../../graphql/context';
import { AttachmentStatus, type AttachmentModel, type AttachmentRecord } from './attachment.model';
import type { AttachmentRemoval } from './attachment-removal';
import type { Attachment, AttachmentConnection } from './attachment.types';
import type { DownloadLinks } from './download-links';
import type { StorageQuota } from './storage-quota';

export const ATTACHMENT_LIST_LIMITS = { min: 1, max: 100 } as const;

/** A user's attachments as GraphQL shows them: list, storage used, delete, download links. */
export class AttachmentService {
  constructor(
    private readonly models: { Attachment: AttachmentModel },
    private readonly quota: StorageQuota,
    private readonly removal: AttachmentRemoval,
    private readonly links: DownloadLinks,
    private readonly publicOrigin: () => string,
  ) {}

  /** Stored attachments, newest first; `after` is a previous page's endCursor. */
  async list(
    { userId }: Viewer,
    limit: number,
    after: string | null | undefined,
  ): Promise<AttachmentConnection> {
    if (
      !Number.isInteger(limit) ||
      limit < ATTACHMENT_LIST_LIMITS.min ||
      limit > ATTACHMENT_LIST_LIMITS.max
    ) {
      throw new BadUserInputError({
        limit: `Use a limit from ${ATTACHMENT_LIST_LIMITS.min} to ${ATTACHMENT_LIST_LIMITS.max}.`,
      });
    }
    const mine = { userId: new Types.ObjectId(userId), status: AttachmentStatus.STORED };
    const page = { ...mine, ...(after ? { _id: op({ $lt: decodeCursor(after) }) } : {}) };
    const [found, totalCount] = await Promise.all([
      this.models.Attachment.find(page)
        .sort({ _id: -1 })
        .limit(limit + 1)
        .lean(),
      this.models.Attachment.countDocuments(mine),
    ]);
    const nodes = found.slice(0, limit).map((record) => this.toAttachment(record));
    const last = nodes[nodes.length - 1];
    return {
      nodes,
      totalCount,
      pageInfo: {
        hasNextPage: found.length > limit,
        endCursor: last ? Buffer.from(last.id).toString('base64url') : null,
      },
    };
  }

  storageUsed({ userId }: Viewer): Promise<number> {
    return this.quota.used(userId);
  }

  /** deleteAttachment: only one that no message carries (those go with their chat). */
  async delete({ userId }: Viewer, id: string): Promise<true> {
    const found = await this.owned(userId, id);
    if (found.chatId) {
      throw new ConflictError(
        'A message carries this attachment; it is removed with its chat (deleteChat).',
      );
    }
    if (found.status === AttachmentStatus.UPLOADING) {
      throw new ConflictError('This attachment is being uploaded; delete it once the upload ends.');
    }
    const removed = await this.removal.remove(found, { status: found.status, chatId: null });
    if (!removed) {
      // It changed meanwhile: a prompt took it, or another removal got there first.
      const now = await this.models.Attachment.findById(found._id).lean();
      if (now?.chatId) {
        throw new ConflictError(
          'A message carries this attachment; it is removed with its chat (deleteChat).',
        );
      }
      throw new NotFoundError('Attachment');
    }
    return true;
  }

  /** The attachments of these ids, in their order, that are still there (for Message.attachments). */
  async byIds(ids: readonly string[]): Promise<Attachment[]> {
    const found = await findByIds(this.models.Attachment, ids);
    return ids
      .map((id) => found.get(id))
      .filter((record): record is AttachmentRecord => record?.status === AttachmentStatus.STORED)
      .map((record) => this.toAttachment(record));
  }

  toAttachment(record: AttachmentRecord): Attachment {
    const id = String(record._id);
    return {
      id,
      filename: record.filename,
      mediaType: record.mediaType,
      size: record.size,
      createdAt: record.createdAt,
      url: `${this.publicOrigin()}${this.links.pathOf(id).path}`,
    };
  }

  private async owned(userId: string, id: string): Promise<AttachmentRecord> {
    const found = isValidObjectId(id) ? await this.models.Attachment.findById(id).lean() : null;
    if (!found || String(found.userId) !== userId || found.status === AttachmentStatus.REMOVING) {
      throw new NotFoundError('Attachment');
    }
    return found;
  }
}

function decodeCursor(value: string): Types.ObjectId {
  const id = Buffer.from(value, 'base64url').toString('utf8');
  if (!isValidObjectId(id)) {
    throw new BadUserInputError({ after: 'This cursor is not valid; use a pageInfo.endCursor.' });
  }
  return new Types.ObjectId(id);
}
