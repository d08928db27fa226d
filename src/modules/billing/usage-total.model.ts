import { modelOptions, prop, type ReturnModelType } from '@typegoose/typegoose';

/**
 * Running usage totals, kept by `$inc` upserts as each model call ends, so `usage` and budgets
 * read a few documents by `_id` and never scan messages. One collection, three kinds of ids
 * (each a direct lookup on the local database, DATABASE.md):
 * - `d:<userId>:<YYYY-MM-DD>`: a user's day, with the models used that day (`models`);
 * - `dm:<userId>:<YYYY-MM-DD>:<provider>:<model>`: a user's day on one model;
 * - `m:<userId>:<YYYY-MM>`: a user's month, what budgets count against.
 */
@modelOptions({ schemaOptions: { collection: 'usage_totals', timestamps: false } })
export class UsageTotalRecord {
  @prop({ type: () => String, required: true })
  _id!: string;

  @prop({ type: () => String, required: true })
  userId!: string;

  @prop({ type: () => Number, default: 0 })
  promptTokens!: number;

  @prop({ type: () => Number, default: 0 })
  completionTokens!: number;

  @prop({ type: () => Number, default: 0 })
  reasoningTokens!: number;

  @prop({ type: () => Number, default: 0 })
  totalTokens!: number;

  @prop({ type: () => Number, default: 0 })
  costUsd!: number;

  /** Model calls counted (replies and titles). */
  @prop({ type: () => Number, default: 0 })
  replies!: number;

  /** On day totals: `<provider>:<model>` of each model used that day. */
  @prop({ type: () => [String], default: undefined })
  models?: string[];
}

export type UsageTotalModel = ReturnModelType<typeof UsageTotalRecord>;
