import { index, modelOptions, prop, type ReturnModelType } from '@typegoose/typegoose';
import { Types } from 'mongoose';

/** Where an attachment is in its life. */
export enum AttachmentStatus {
  /** A ticket was given; no bytes yet. */
  PENDING = 'PENDING',
  /** Its bytes are arriving (the ticket is spent). */
  UPLOADING = 'UPLOADING',
  /** Its bytes are stored and checked: it can be sent with a prompt. */
  STORED = 'STORED',
  /** Being removed with its bytes (deleted, swept, its chat or account gone). */
  REMOVING = 'REMOVING',
}

/**
 * One uploaded file of a user. Its bytes live in the storage (GridFS by default) under the same
 * id; a document's extracted text in `AttachmentText`, also by this id. `chatId` is set when a
 * prompt first carries it: from then on it belongs to that chat and goes with it.
 */
@modelOptions({ schemaOptions: { collection: 'attachments', timestamps: true } })
@index({ userId: 1, createdAt: -1 })
@index({ chatId: 1 })
export class AttachmentRecord {
  _id!: Types.ObjectId;

  @prop({ type: () => Types.ObjectId, required: true })
  userId!: Types.ObjectId;

  @prop({ type: () => String, required: true })
  filename!: string;

  @prop({ type: () => String, required: true })
  mediaType!: string;

  /** Declared by createUpload; the upload must bring exactly this many bytes. */
  @prop({ type: () => Number, required: true })
  size!: number;

  @prop({ type: () => String, enum: AttachmentStatus, required: true })
  status!: AttachmentStatus;

  /** SHA-256 of the upload ticket's secret (the secret itself is never stored). */
  @prop({ type: () => String })
  ticketHash?: string | null;

  /** Until when the ticket may be used. */
  @prop({ type: () => Date, required: true })
  ticketExpiresAt!: Date;

  @prop({ type: () => Types.ObjectId, default: null })
  chatId?: Types.ObjectId | null;

  createdAt!: Date;
  updatedAt!: Date;
}

export type AttachmentModel = ReturnModelType<typeof AttachmentRecord>;

/**
 * The text a document gave (PDF, text, Markdown, CSV, JSON), read once when it was uploaded and
 * sent to models from here. Its own collection keyed by the attachment's id, so that listing
 * attachments never reads it and a prompt reads it by `_id`.
 */
@modelOptions({ schemaOptions: { collection: 'attachment_texts' } })
export class AttachmentTextRecord {
  _id!: Types.ObjectId;

  /** At most MAX_STORED_TEXT_CHARS of it; `length` says how long it really is. */
  @prop({ type: () => String, default: '' })
  text!: string;

  @prop({ type: () => Number, required: true })
  length!: number;
}

export type AttachmentTextModel = ReturnModelType<typeof AttachmentTextRecord>;

/**
 * What a user's attachments hold, all together: one document per user, keyed by the user's id,
 * so that a reservation is one conditional update of one document (atomic on MongoDB, and in
 * order on the local database's one connection).
 */
@modelOptions({ schemaOptions: { collection: 'storage_usage' } })
export class StorageUsageRecord {
  /** The user's id. */
  @prop({ type: () => String, required: true })
  _id!: string;

  /** Bytes reserved by tickets and held by stored attachments. */
  @prop({ type: () => Number, required: true, default: 0 })
  bytes!: number;
}

export type StorageUsageModel = ReturnModelType<typeof StorageUsageRecord>;
