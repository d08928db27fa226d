import { index, modelOptions, prop, type ReturnModelType } from '@typegoose/typegoose';
import { Types } from 'mongoose';

/**
 * One signed-in device. The refresh token is stored only as a SHA-256 hash; earlier hashes of
 * the same session are kept so that a reused (stolen) refresh token is recognised and ends
 * the whole session. An ended session is deleted, so its access tokens fail at once.
 * Expiry is checked by timestamp (FerretDB has no TTL indexes); a sweeper deletes old ones.
 */
@modelOptions({ schemaOptions: { collection: 'sessions', timestamps: false } })
@index({ userId: 1, lastUsedAt: -1 })
@index({ refreshTokenHash: 1 }, { unique: true })
@index({ expiresAt: 1 })
export class SessionRecord {
  _id!: Types.ObjectId;

  @prop({ type: () => Types.ObjectId, required: true })
  userId!: Types.ObjectId;

  @prop({ type: () => String, required: true })
  refreshTokenHash!: string;

  @prop({ type: () => [String], required: true, default: () => [] })
  previousRefreshTokenHashes!: string[];

  /** The hash of the token the current one replaced, and when: the reuse grace window. */
  @prop({ type: () => String })
  rotatedFromHash?: string;

  @prop({ type: () => Date })
  rotatedAt?: Date;

  @prop({ type: () => String })
  userAgent?: string;

  @prop({ type: () => String })
  ip?: string;

  @prop({ type: () => Date, required: true })
  createdAt!: Date;

  @prop({ type: () => Date, required: true })
  lastUsedAt!: Date;

  @prop({ type: () => Date, required: true })
  expiresAt!: Date;
}

export type SessionModel = ReturnModelType<typeof SessionRecord>;
