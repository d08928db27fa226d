import { index, modelOptions, prop } from '@typegoose/typegoose';
import { Types } from 'mongoose';

export enum OutboxMailState {
  /** Waiting for its next attempt, at `nextAttemptAt`. */
  PENDING = 'PENDING',
  /** An instance claimed it at `claimedAt` and is sending it. */
  SENDING = 'SENDING',
}

/**
 * A mail not yet delivered. Removed once the SMTP server accepts it (or it fails for good), so
 * the collection holds only work to do. The body is sealed (sealed-body.ts).
 */
@modelOptions({ schemaOptions: { collection: 'mail_outbox', timestamps: false } })
@index({ state: 1, nextAttemptAt: 1 })
export class OutboxMailRecord {
  _id!: Types.ObjectId;

  @prop({ type: () => String, required: true })
  to!: string;

  @prop({ type: () => String, required: true })
  subject!: string;

  @prop({ type: () => String, required: true })
  sealedBody!: string;

  @prop({ type: () => String, enum: OutboxMailState, required: true })
  state!: OutboxMailState;

  @prop({ type: () => Number, required: true, default: 0 })
  attempts!: number;

  @prop({ type: () => Date, required: true })
  nextAttemptAt!: Date;

  @prop({ type: () => Date, default: null })
  claimedAt!: Date | null;

  /**
   * Set, before any byte of the message leaves, when the server has accepted `DATA`: from then
   * on an attempt that dies without an answer may have delivered the mail, so it is not retried.
   */
  @prop({ type: () => Date, default: null })
  messageStartedAt!: Date | null;

  @prop({ type: () => String, default: null })
  lastError!: string | null;

  @prop({ type: () => Date, required: true })
  createdAt!: Date;

  /** After this, a mail still refused is given up on (and logged). */
  @prop({ type: () => Date, required: true })
  giveUpAt!: Date;
}
