import { index, modelOptions, prop, type ReturnModelType, Severity } from '@typegoose/typegoose';
import type { Types } from 'mongoose';
import { LinkedIdentity } from './linked-identity';
import { UserRole } from './user-role';

/** A stored account. `passwordHash` never leaves the server: the GraphQL type is separate. */
@modelOptions({
  schemaOptions: { collection: 'users', timestamps: true, minimize: false },
  options: { allowMixed: Severity.ALLOW },
})
@index({ email: 1 }, { unique: true })
export class UserRecord {
  _id!: Types.ObjectId;

  /** Trimmed and lower-cased before it is stored, so uniqueness ignores letter case. */
  @prop({ type: () => String, required: true })
  email!: string;

  /** Absent for an account made by single sign-on that never set a password. */
  @prop({ type: () => String })
  passwordHash?: string;

  @prop({ type: () => String, required: true })
  firstName!: string;

  @prop({ type: () => String, required: true })
  lastName!: string;

  @prop({ type: () => Boolean, required: true, default: false })
  emailVerified!: boolean;

  /** Free-form client data; keys are validated before they get here (metadata.ts). */
  @prop({ type: () => Object, required: true, default: () => ({}) })
  metadata!: Record<string, unknown>;

  /**
   * Counts metadata changes: an update applies only to the revision it read, so the size
   * limit holds for the merged result even when updates race (absent on older documents).
   */
  @prop({ type: () => Number })
  metadataRevision?: number;

  /**
   * Counts the times every session of the user was ended (password change or reset, sign-out
   * everywhere, account deletion). A sign-in compares it before and after it creates its
   * session, so one that raced an ending never outlives it (absent on older documents: 0).
   */
  @prop({ type: () => Number })
  sessionEpoch?: number;

  /**
   * The TOTP secret, sealed (auth/totp/secret-box.ts); present exactly when two-step sign-in is
   * on. `totpPendingSecret` is one being enrolled, until a first code confirms it.
   */
  @prop({ type: () => String })
  totpSecret?: string;

  @prop({ type: () => String })
  totpPendingSecret?: string;

  /** The time step of the last accepted code: a code of that step or earlier is refused. */
  @prop({ type: () => Number })
  totpLastStep?: number;

  /** Single sign-on identities; each also has a record by `<provider>:<sub>` (auth/oidc). */
  @prop({ type: () => [LinkedIdentity], _id: false, default: () => [] })
  identities?: LinkedIdentity[];

  @prop({ type: () => String, enum: UserRole })
  role?: UserRole;

  /** Set while the account is being deleted: no sign-in, and no write of its data, sticks. */
  @prop({ type: () => Date })
  closingAt?: Date;

  createdAt!: Date;
  updatedAt!: Date;
}

export type UserModel = ReturnModelType<typeof UserRecord>;
