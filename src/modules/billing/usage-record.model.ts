import { modelOptions, prop, type ReturnModelType } from '@typegoose/typegoose';

/**
 * One model call's usage: a reply's (`_id` is the reply's message id), a title's
 * (`title:<chatId>`). Its `_id` makes counting it idempotent: a reply settled twice (ended
 * here and taken over elsewhere) adds to the totals once.
 */
@modelOptions({ schemaOptions: { collection: 'usage_records', timestamps: false } })
export class UsageRecordRecord {
  @prop({ type: () => String, required: true })
  _id!: string;

  @prop({ type: () => String, required: true })
  userId!: string;

  @prop({ type: () => String, required: true })
  provider!: string;

  @prop({ type: () => String, required: true })
  model!: string;

  @prop({ type: () => String, required: true })
  kind!: 'reply' | 'title';

  @prop({ type: () => Number, required: true })
  promptTokens!: number;

  @prop({ type: () => Number, required: true })
  completionTokens!: number;

  @prop({ type: () => Number, required: true })
  reasoningTokens!: number;

  @prop({ type: () => Number, required: true })
  totalTokens!: number;

  /** 0 for a model MODEL_PRICES does not price. */
  @prop({ type: () => Number, required: true })
  costUsd!: number;

  @prop({ type: () => Date, required: true })
  at!: Date;
}

export type UsageRecordModel = ReturnModelType<typeof UsageRecordRecord>;
