import { updateByIdIf } from '../../db/by-id';
import {
  AttachmentStatus,
  type AttachmentModel,
  type AttachmentRecord,
  type AttachmentTextModel,
} from './attachment.model';
import type { AttachmentStorage } from './storage/attachment-storage';
import type { StorageQuota } from './storage-quota';

/**
 * Removes attachments with everything they hold: bytes, text, the record, and their share of the
 * quota. The record is claimed first (REMOVING, from the status the caller saw), so that two
 * removals of one attachment (deleteAttachment and the sweeper, two instances) give its bytes
 * back once, and a prompt can no longer take it meanwhile.
 */
export class AttachmentRemoval {
  constructor(
    private readonly models: { Attachment: AttachmentModel; AttachmentText: AttachmentTextModel },
    private readonly storage: AttachmentStorage,
    private readonly quota: StorageQuota,
  ) {}

  /**
   * Removes `attachment` if it is still as `expected` says (its status, and for a stored one
   * still unsent: `chatId: null`); whether this call removed it.
   */
  async remove(
    attachment: AttachmentRecord,
    expected: { status: AttachmentStatus; chatId?: null | string },
  ): Promise<boolean> {
    const claimed = await updateByIdIf(
      this.models.Attachment,
      attachment._id,
      expected.chatId === undefined
        ? { status: expected.status }
        : { status: expected.status, chatId: expected.chatId },
      { $set: { status: AttachmentStatus.REMOVING } },
    );
    if (!claimed) return false;
    await this.discard(claimed);
    return true;
  }

  /** Removes an attachment this caller holds (its upload failed, it was claimed). */
  async discard(attachment: AttachmentRecord): Promise<void> {
    const id = String(attachment._id);
    await this.storage.remove(id);
    await this.models.AttachmentText.deleteOne({ _id: attachment._id });
    const deleted = await this.models.Attachment.deleteOne({ _id: attachment._id });
    if (deleted.deletedCount > 0)
      await this.quota.release(String(attachment.userId), attachment.size);
  }
}
