import { updateByIdIf } from '../../db/by-id';
import { BadUserInputError } from '../../errors/errors';
import type { StorageUsageModel } from './attachment.model';

/**
 * Each user's STORAGE_QUOTA_BYTES: a ticket reserves its declared size before any byte is sent,
 * so that uploads racing on any instance never hold more than the quota together; removing an
 * attachment (or a failed or expired upload) gives its bytes back.
 */
export class StorageQuota {
  constructor(
    private readonly models: { StorageUsage: StorageUsageModel },
    private readonly quotaBytes: number,
  ) {}

  async used(userId: string): Promise<number> {
    return (await this.models.StorageUsage.findById(userId).lean())?.bytes ?? 0;
  }

  /** Reserves `bytes`, or refuses (BAD_USER_INPUT saying how much is left) when they do not fit. */
  async reserve(userId: string, bytes: number): Promise<void> {
    await this.models.StorageUsage.updateOne(
      { _id: userId },
      { $setOnInsert: { bytes: 0 } },
      { upsert: true },
    );
    const reserved = await updateByIdIf(
      this.models.StorageUsage,
      userId,
      { bytes: { atMost: this.quotaBytes - bytes } },
      { $inc: { bytes } },
    );
    if (!reserved) {
      const left = Math.max(0, this.quotaBytes - (await this.used(userId)));
      throw new BadUserInputError({
        size: `This file needs ${bytes} bytes but your storage has ${left} of ${this.quotaBytes} left; delete attachments you no longer need.`,
      });
    }
  }

  async release(userId: string, bytes: number): Promise<void> {
    await updateByIdIf(this.models.StorageUsage, userId, {}, { $inc: { bytes: -bytes } });
  }

  async forget(userId: string): Promise<void> {
    await this.models.StorageUsage.deleteOne({ _id: userId });
  }
}
