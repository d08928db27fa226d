import { index, modelOptions, prop, Severity, type ReturnModelType } from '@typegoose/typegoose';
import { Schema } from 'mongoose';
import { Types } from 'mongoose';
import { MessageRole, MessageStatus } from './chat-enums';
import { StoredLlmConfig } from './chat.model';
import type { StoredPart } from './streaming/reply-content';

export class StoredTokenUsage {
  @prop({ type: () => Number, required: true })
  promptTokens!: number;

  @prop({ type: () => Number, required: true })
  completionTokens!: number;

  @prop({ type: () => Number, required: true })
  totalTokens!: number;

  @prop({ type: () => Number })
  reasoningTokens?: number;
}

/**
 * One message, a node of its chat's tree: `parentId` is the message it follows (null for a
 * first prompt; an edit is a sibling of the prompt it replaces, a regenerated reply a sibling of
 * the reply). `position` is its number in the chat (1, 2, …, over every branch). `idempotencyKey` is
 * `<userId>:<clientMessageId>` on user messages sent with one; its unique index is what makes a
 * retried sendMessage find the first call instead of starting a second reply. (A compound
 * sparse index would index every message by userId, and FerretDB has no partial indexes.)
 */
@modelOptions({
  schemaOptions: { collection: 'messages', timestamps: true },
  // `parts` is stored as the reply writes it (streaming/reply-content.ts's StoredPart).
  options: { allowMixed: Severity.ALLOW },
})
@index({ chatId: 1, position: -1 })
@index({ idempotencyKey: 1 }, { unique: true, sparse: true })
@index({ status: 1 })
@index({ userId: 1, status: 1 })
export class MessageRecord {
  _id!: Types.ObjectId;

  @prop({ type: () => Types.ObjectId, required: true })
  chatId!: Types.ObjectId;

  @prop({ type: () => Types.ObjectId, required: true })
  userId!: Types.ObjectId;

  @prop({ type: () => Number, required: true })
  position!: number;

  /** Absent only on messages written before branches existed, until migrated. */
  @prop({ type: () => Types.ObjectId, default: undefined })
  parentId?: Types.ObjectId | null;

  @prop({ type: () => String, enum: MessageRole, required: true })
  role!: MessageRole;

  /** Not `required`: mongoose refuses '' for required strings, and a reply starts empty. */
  @prop({ type: () => String, default: '' })
  content!: string;

  @prop({ type: () => String, enum: MessageStatus, required: true })
  status!: MessageStatus;

  @prop({ type: () => String })
  error?: string | null;

  @prop({ type: () => StoredLlmConfig, _id: false })
  config?: StoredLlmConfig | null;

  @prop({ type: () => StoredTokenUsage, _id: false })
  usage?: StoredTokenUsage | null;

  /**
   * A reply's parts in order (answer text, reasoning, tool calls) when it has more than text;
   * absent on text alone, which `content` says (see chat.mappers.ts's partsOf).
   */
  @prop({ type: () => Schema.Types.Mixed, default: undefined })
  parts?: StoredPart[] | null;

  /** All its reasoning, when it had any. */
  @prop({ type: () => String, default: undefined })
  reasoning?: string | null;

  /** On a user message: the attachments it carries, in order (attachments module's ids). */
  @prop({ type: () => [Types.ObjectId], default: undefined })
  attachmentIds?: Types.ObjectId[];

  @prop({ type: () => String })
  idempotencyKey?: string;

  /**
   * On a user message: the assistant message that answers it (for idempotent retries). A
   * regenerated reply carries the idempotency key itself and finds its prompt by `parentId`.
   */
  @prop({ type: () => Types.ObjectId })
  replyId?: Types.ObjectId;

  createdAt!: Date;
  updatedAt!: Date;
}

export type MessageModel = ReturnModelType<typeof MessageRecord>;
