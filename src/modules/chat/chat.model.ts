import { index, modelOptions, prop, type ReturnModelType } from '@typegoose/typegoose';
import { Types } from 'mongoose';
import { LlmProvider } from '../llm/llm-provider.enum';

export class StoredLlmConfig {
  @prop({ type: () => String, enum: LlmProvider, required: true })
  llm!: LlmProvider;

  @prop({ type: () => String, required: true })
  chatModel!: string;
}

export enum TitleSource {
  /** The truncated first prompt, until the model suggests better. */
  PROMPT = 'PROMPT',
  MODEL = 'MODEL',
  /** Set by the user; the model never overwrites it. */
  USER = 'USER',
}

/**
 * A conversation of one user. Its messages form a tree (edits and regenerations are siblings);
 * `activePath` is the branch the user sees, root first, so a page of it is a read by `_id`
 * (FerretDB scans for any other filter). `messageCount` counts every message of every branch
 * and numbers them (`position`). `activeLeafId` is the path's last id: a send appends under it
 * only if it is still the leaf (compare and set), so concurrent sends never fork silently.
 */
@modelOptions({ schemaOptions: { collection: 'chats', timestamps: true } })
@index({ userId: 1, updatedAt: -1, _id: -1 })
export class ChatRecord {
  _id!: Types.ObjectId;

  @prop({ type: () => Types.ObjectId, required: true })
  userId!: Types.ObjectId;

  @prop({ type: () => String, required: true })
  title!: string;

  @prop({ type: () => String, enum: TitleSource, required: true })
  titleSource!: TitleSource;

  @prop({ type: () => String })
  systemInstructions?: string | null;

  @prop({ type: () => StoredLlmConfig, required: true, _id: false })
  config!: StoredLlmConfig;

  @prop({ type: () => Number, required: true, default: 0 })
  messageCount!: number;

  /** Absent on chats written before branches existed, until migrated (legacy-chats.ts). */
  @prop({ type: () => [Types.ObjectId], default: undefined })
  activePath?: Types.ObjectId[];

  @prop({ type: () => Types.ObjectId, default: null })
  activeLeafId?: Types.ObjectId | null;

  @prop({ type: () => Boolean, default: false })
  pinned?: boolean;

  @prop({ type: () => Date, default: null })
  archivedAt?: Date | null;

  /** As the user wrote them (trimmed), and lower-cased in `tagKeys` for filters and counts. */
  @prop({ type: () => [String], default: [] })
  tags?: string[];

  @prop({ type: () => [String], default: [] })
  tagKeys?: string[];

  /** The tools its replies may call, unless a send chooses others. */
  @prop({ type: () => [String], default: [] })
  tools?: string[];

  createdAt!: Date;
  updatedAt!: Date;
}

export type ChatModel = ReturnModelType<typeof ChatRecord>;
