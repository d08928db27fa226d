import { Field, ID, ObjectType } from 'type-graphql';
import type { PasskeyRecord } from './passkey.model';

@ObjectType({ simpleResolvers: true, description: 'A passkey that signs the account in.' })
export class Passkey {
  @Field(() => ID, { description: "The credential's id." })
  id!: string;

  @Field(() => String, { description: 'What the user called it.' })
  name!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'Its last sign-in.' })
  lastUsedAt?: Date | null;
}

export const toPasskey = (record: PasskeyRecord): Passkey => ({
  id: record._id,
  name: record.name,
  createdAt: record.createdAt,
  lastUsedAt: record.lastUsedAt ?? null,
});
