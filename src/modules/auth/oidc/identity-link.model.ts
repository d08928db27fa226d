import { modelOptions, prop, type ReturnModelType } from '@typegoose/typegoose';
import { Types } from 'mongoose';

/**
 * Which account an OpenID identity signs in. `_id` is `<provider id>:<sub>`, so a sign-in finds
 * it by `_id` (an index lookup on the local database too) and one identity links one account
 * (a second insert of the same `_id` fails).
 */
@modelOptions({ schemaOptions: { collection: 'identity_links', timestamps: false } })
export class IdentityLinkRecord {
  @prop({ type: () => String })
  _id!: string;

  @prop({ type: () => Types.ObjectId, required: true })
  userId!: Types.ObjectId;

  @prop({ type: () => Date, required: true })
  linkedAt!: Date;
}

export type IdentityLinkModel = ReturnModelType<typeof IdentityLinkRecord>;

export const identityLinkIdOf = (provider: string, subject: string) => `${provider}:${subject}`;
