import { index, modelOptions, prop, type ReturnModelType } from '@typegoose/typegoose';
import { Types } from 'mongoose';
import { MessageRole } from '../chat-enums';

/** An attachment as a snapshot names it: never its bytes. */
export class SharedAttachmentRecord {
  @prop({ type: () => String, required: true })
  filename!: string;

  @prop({ type: () => String, required: true })
  mediaType!: string;
}

/** One message of a snapshot: what a reader of the link sees, and nothing else. */
export class SharedMessageRecord {
  @prop({ type: () => [SharedAttachmentRecord], _id: false, default: undefined })
  attachments?: SharedAttachmentRecord[];

  @prop({ type: () => String, enum: MessageRole, required: true })
  role!: MessageRole;

  @prop({ type: () => String, default: '' })
  content!: string;

  @prop({ type: () => Date, required: true })
  createdAt!: Date;
}

/**
 * A read-only link to a snapshot of a chat's active branch. The link's token is never stored:
 * `tokenHash` (SHA-256) finds the share, and `nonce` lets the owner's server derive the same
 * token again with its secret key (share-tokens.ts), so a database leak alone opens no link.
 */
@modelOptions({ schemaOptions: { collection: 'chat_shares', timestamps: true } })
@index({ tokenHash: 1 }, { unique: true })
@index({ chatId: 1 })
@index({ userId: 1 })
export class ChatShareRecord {
  _id!: Types.ObjectId;

  @prop({ type: () => Types.ObjectId, required: true })
  userId!: Types.ObjectId;

  @prop({ type: () => Types.ObjectId, required: true })
  chatId!: Types.ObjectId;

  @prop({ type: () => String, required: true })
  tokenHash!: string;

  @prop({ type: () => String, required: true })
  nonce!: string;

  @prop({ type: () => String, required: true })
  title!: string;

  /** When the chat (not the share) was created. */
  @prop({ type: () => Date, required: true })
  chatCreatedAt!: Date;

  @prop({ type: () => Number, required: true })
  messageCount!: number;

  @prop({ type: () => [SharedMessageRecord], _id: false, default: [] })
  messages!: SharedMessageRecord[];

  createdAt!: Date;
  updatedAt!: Date;
}

export type ChatShareModel = ReturnModelType<typeof ChatShareRecord>;
