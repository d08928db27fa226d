import { index, modelOptions, prop, type ReturnModelType } from '@typegoose/typegoose';
import { Types } from 'mongoose';

export enum EmailTokenPurpose {
  VERIFY_EMAIL = 'VERIFY_EMAIL',
  RESET_PASSWORD = 'RESET_PASSWORD',
}

/**
 * A mailed single-use token. Only its SHA-256 hash is stored; one document per user and
 * purpose, so issuing a new token replaces (and so invalidates) the previous one of its kind.
 */
@modelOptions({ schemaOptions: { collection: 'email_tokens', timestamps: false } })
@index({ userId: 1, purpose: 1 }, { unique: true })
@index({ tokenHash: 1 }, { unique: true })
export class EmailTokenRecord {
  _id!: Types.ObjectId;

  @prop({ type: () => Types.ObjectId, required: true })
  userId!: Types.ObjectId;

  @prop({ type: () => String, enum: EmailTokenPurpose, required: true })
  purpose!: EmailTokenPurpose;

  @prop({ type: () => String, required: true })
  tokenHash!: string;

  @prop({ type: () => Date, required: true })
  expiresAt!: Date;

  @prop({ type: () => Date, default: null })
  usedAt!: Date | null;

  @prop({ type: () => Date, required: true })
  createdAt!: Date;
}

export type EmailTokenModel = ReturnModelType<typeof EmailTokenRecord>;
