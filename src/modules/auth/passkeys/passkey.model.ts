import { modelOptions, prop, type ReturnModelType } from '@typegoose/typegoose';
import { Types } from 'mongoose';

/**
 * One passkey (a WebAuthn credential) of a user. `_id` is the credential's id (base64url), which
 * the authenticator sends with every sign-in, so a sign-in finds it by `_id`. Only the public
 * key is kept. `counter` is the authenticator's signature counter: a sign-in whose counter does
 * not move past it comes from a cloned authenticator and is refused.
 */
@modelOptions({ schemaOptions: { collection: 'passkeys', timestamps: false } })
export class PasskeyRecord {
  @prop({ type: () => String })
  _id!: string;

  @prop({ type: () => Types.ObjectId, required: true })
  userId!: Types.ObjectId;

  /** COSE public key, base64url. */
  @prop({ type: () => String, required: true })
  publicKey!: string;

  @prop({ type: () => Number, required: true })
  counter!: number;

  @prop({ type: () => [String], default: () => [] })
  transports!: string[];

  @prop({ type: () => String, required: true })
  name!: string;

  @prop({ type: () => Date, required: true })
  createdAt!: Date;

  @prop({ type: () => Date })
  lastUsedAt?: Date;
}

export type PasskeyModel = ReturnModelType<typeof PasskeyRecord>;
