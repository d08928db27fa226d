import { index, modelOptions, prop } from '@typegoose/typegoose';
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
 * A conversation of one user. `messageCount` is also the position counter of its messages:
 * each new message takes the next number, so "the last N messages" of many chats is one query.
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

  createdAt!: Date;
  updatedAt!: Date;
}
