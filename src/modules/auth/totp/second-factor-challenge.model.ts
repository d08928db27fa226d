import { modelOptions, prop, type ReturnModelType } from '@typegoose/typegoose';
import { Types } from 'mongoose';

/**
 * A sign-in waiting for its second factor. The challenge handed to the client is an opaque
 * token; only its SHA-256 hash is stored, as the `_id`, so each attempt is a lookup by `_id`.
 * `attempts` counts codes tried; past the limit the challenge is dead. Deleted when used;
 * expired ones are swept with the sessions (FerretDB has no TTL indexes).
 */
@modelOptions({ schemaOptions: { collection: 'second_factor_challenges', timestamps: false } })
export class SecondFactorChallengeRecord {
  @prop({ type: () => String })
  _id!: string;

  @prop({ type: () => Types.ObjectId, required: true })
  userId!: Types.ObjectId;

  @prop({ type: () => Number, required: true, default: 0 })
  attempts!: number;

  @prop({ type: () => Date, required: true })
  expiresAt!: Date;
}

export type SecondFactorChallengeModel = ReturnModelType<typeof SecondFactorChallengeRecord>;
