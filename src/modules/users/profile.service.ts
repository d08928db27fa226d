import { BadUserInputError, ConflictError, NotFoundError } from '../../errors/errors';
import type { UpdateProfileInput } from './update-profile.input';
import { findMetadataProblem, mergeMetadata, METADATA_LIMITS, metadataSize } from './metadata';
import type { UserRecord, UserModel } from './user.model';

export class ProfileService {
  constructor(private readonly models: { User: UserModel }) {}

  async get(userId: string): Promise<UserRecord> {
    const user = await this.models.User.findById(userId, { passwordHash: 0 }).lean();
    if (!user) throw new NotFoundError('User');
    return user;
  }

  /**
   * Applies names and a one-level metadata merge. Each metadata key is set or unset on its
   * own path, so two devices changing different keys at once do not undo each other. The
   * merged size is checked against the revision the update read, and the update applies only
   * if the metadata is still at that revision: of racing updates, each is judged on what it
   * really adds to (concurrent ones once stored far past the limit). A lost race
   * reads again, a few times.
   */
  async update(userId: string, input: UpdateProfileInput): Promise<UserRecord> {
    const names: Record<string, unknown> = {};
    if (input.firstName != null) names.firstName = input.firstName.trim();
    if (input.lastName != null) names.lastName = input.lastName.trim();
    if (!input.metadata) {
      if (Object.keys(names).length === 0) return this.get(userId);
      return this.apply({ _id: userId }, { $set: names });
    }

    const problem = findMetadataProblem(input.metadata);
    if (problem) throw new BadUserInputError({ metadata: problem });
    const $set: Record<string, unknown> = { ...names };
    const $unset: Record<string, ''> = {};
    for (const [key, value] of Object.entries(input.metadata)) {
      if (value === null) $unset[`metadata.${key}`] = '';
      else $set[`metadata.${key}`] = value;
    }
    for (let attempt = 0; attempt < METADATA_UPDATE_ATTEMPTS; attempt += 1) {
      const current = await this.get(userId);
      const merged = mergeMetadata(current.metadata ?? {}, input.metadata);
      if (metadataSize(merged) > METADATA_LIMITS.maxBytes) {
        throw new BadUserInputError({
          metadata: `Metadata may be at most ${METADATA_LIMITS.maxBytes / 1024} KiB once merged.`,
        });
      }
      const updated = await this.models.User.findOneAndUpdate(
        // `null` matches a document that has no revision yet.
        { _id: userId, metadataRevision: current.metadataRevision ?? null },
        {
          $set,
          ...(Object.keys($unset).length ? { $unset } : {}),
          $inc: { metadataRevision: 1 },
        },
        // No projection: FerretDB 1.24 refuses one on findAndModify (src/db/trusted.ts).
        { returnDocument: 'after' },
      ).lean();
      if (updated) return updated;
    }
    throw new ConflictError('The profile changed meanwhile; send the update again.');
  }

  private async apply(filter: Record<string, unknown>, update: Record<string, unknown>) {
    const updated = await this.models.User.findOneAndUpdate(filter, update, {
      returnDocument: 'after',
    }).lean();
    if (!updated) throw new NotFoundError('User');
    return updated;
  }
}

/** A metadata update that keeps losing races reads again this many times, then says CONFLICT. */
const METADATA_UPDATE_ATTEMPTS = 8;
