import { modelOptions, prop, type ReturnModelType } from '@typegoose/typegoose';
import { Types } from 'mongoose';

/**
 * One unused recovery code. Only its keyed hash is stored, as the `_id`: using a code is one
 * delete by `_id` (an index lookup on the local database too), and of two concurrent uses of
 * one code only the one whose delete found it wins.
 */
@modelOptions({ schemaOptions: { collection: 'recovery_codes', timestamps: false } })
export class RecoveryCodeRecord {
  @prop({ type: () => String })
  _id!: string;

  @prop({ type: () => Types.ObjectId, required: true })
  userId!: Types.ObjectId;

  @prop({ type: () => Date, required: true })
  createdAt!: Date;
}

export type RecoveryCodeModel = ReturnModelType<typeof RecoveryCodeRecord>;
