import type { Models } from '../../db/models';
import { BadUserInputError, NotFoundError } from '../../graphql/errors';
import type { UpdateProfileInput } from './update-profile.input';
import { findMetadataProblem, mergeMetadata, METADATA_LIMITS, metadataSize } from './metadata';
import type { UserRecord } from './user.model';

export class ProfileService {
  constructor(private readonly models: Models) {}

  async get(userId: string): Promise<UserRecord> {
    const user = await this.models.User.findById(userId, { passwordHash: 0 }).lean();
    if (!user) throw new NotFoundError('User');
    return user;
  }

  /**
   * Applies names and a one-level metadata merge. Each metadata key is set or unset on its
   * own path, so two devices changing different keys at once do not undo each other.
   */
  async update(userId: string, input: UpdateProfileInput): Promise<UserRecord> {
    const $set: Record<string, unknown> = {};
    const $unset: Record<string, ''> = {};
    if (input.firstName != null) $set.firstName = input.firstName.trim();
    if (input.lastName != null) $set.lastName = input.lastName.trim();

    if (input.metadata) {
      const problem = findMetadataProblem(input.metadata);
      if (problem) throw new BadUserInputError({ metadata: problem });
      const current = await this.get(userId);
      const merged = mergeMetadata(current.metadata ?? {}, input.metadata);
      if (metadataSize(merged) > METADATA_LIMITS.maxBytes) {
        throw new BadUserInputError({
          metadata: `Metadata may be at most ${METADATA_LIMITS.maxBytes / 1024} KiB once merged.`,
        });
      }
      for (const [key, value] of Object.entries(input.metadata)) {
        if (value === null) $unset[`metadata.${key}`] = '';
        else $set[`metadata.${key}`] = value;
      }
    }

    if (Object.keys($set).length === 0 && Object.keys($unset).length === 0) return this.get(userId);
    const updated = await this.models.User.findOneAndUpdate(
      { _id: userId },
      {
        ...(Object.keys($set).length ? { $set } : {}),
        ...(Object.keys($unset).length ? { $unset } : {}),
      },
      { returnDocument: 'after' },
    ).lean();
    if (!updated) throw new NotFoundError('User');
    return updated;
  }
}
