import { modelOptions, prop, Severity, type ReturnModelType } from '@typegoose/typegoose';
import { Types } from 'mongoose';

/** What happened to an account's ways in; the next issue's `securityEvents` lists these. */
export const SecurityEventKind = {
  TWO_FACTOR_ENABLED: 'TWO_FACTOR_ENABLED',
  TWO_FACTOR_DISABLED: 'TWO_FACTOR_DISABLED',
  RECOVERY_CODE_USED: 'RECOVERY_CODE_USED',
  SECOND_FACTOR_FAILED: 'SECOND_FACTOR_FAILED',
  SIGNED_IN_WITH_SECOND_FACTOR: 'SIGNED_IN_WITH_SECOND_FACTOR',
  IDENTITY_LINKED: 'IDENTITY_LINKED',
  IDENTITY_UNLINKED: 'IDENTITY_UNLINKED',
  SIGNED_IN_WITH_IDENTITY: 'SIGNED_IN_WITH_IDENTITY',
  PASSKEY_ADDED: 'PASSKEY_ADDED',
  PASSKEY_REMOVED: 'PASSKEY_REMOVED',
  SIGNED_IN_WITH_PASSKEY: 'SIGNED_IN_WITH_PASSKEY',
  PASSKEY_REFUSED: 'PASSKEY_REFUSED',
} as const;

export type SecurityEventKind = (typeof SecurityEventKind)[keyof typeof SecurityEventKind];

/**
 * One security event of a user. Never holds a secret (no code, token or secret; `detail` is
 * plain facts such as how many recovery codes are left). The `_id` is
 * `<userId>:<time, base 36, fixed width>:<random>`, so one user's events sort by time under
 * their own prefix: a page is a range of `_id`s (on the local database a range is still a scan
 * of the collection, DATABASE.md; MongoDB serves it from the `_id` index).
 */
@modelOptions({
  schemaOptions: { collection: 'security_events', timestamps: false },
  options: { allowMixed: Severity.ALLOW },
})
export class SecurityEventRecord {
  @prop({ type: () => String })
  _id!: string;

  @prop({ type: () => Types.ObjectId, required: true })
  userId!: Types.ObjectId;

  @prop({ type: () => String, required: true })
  kind!: SecurityEventKind;

  @prop({ type: () => Date, required: true })
  at!: Date;

  @prop({ type: () => String })
  ip?: string;

  @prop({ type: () => String })
  userAgent?: string;

  @prop({ type: () => Object })
  detail?: Record<string, string | number | boolean>;
}

export type SecurityEventModel = ReturnModelType<typeof SecurityEventRecord>;
