import { Field, ID, ObjectType } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import type { UserRecord } from './user.model';
import { LinkedIdentity } from './linked-identity';
import { UserRole } from './user-role';

@ObjectType({ simpleResolvers: true, description: 'An account.' })
export class User {
  @Field(() => ID, { description: 'Stable identifier.' })
  id!: string;

  @Field(() => String, { description: 'Sign-in address, trimmed and lower-cased.' })
  email!: string;

  @Field(() => String, { description: 'Given name.' })
  firstName!: string;

  @Field(() => String, { description: 'Family name.' })
  lastName!: string;

  @Field(() => Boolean, { description: 'Whether the address was confirmed from a mailed link.' })
  emailVerified!: boolean;

  @Field(() => Boolean, {
    description: 'Whether sign-in asks for a code from an authenticator app after the password.',
  })
  twoFactorEnabled!: boolean;

  @Field(() => [LinkedIdentity], { description: 'Single sign-on identities that sign it in.' })
  identities!: LinkedIdentity[];

  @Field(() => UserRole, { description: 'USER, or ADMIN for operators.' })
  role!: UserRole;

  @Field(() => GraphQLJSONObject, {
    description: 'Free-form settings the client keeps for the user (at most 16 KiB).',
  })
  metadata!: Record<string, unknown>;

  @Field(() => Date, { description: 'When the account was created.' })
  createdAt!: Date;

  @Field(() => Date, { description: 'When the account last changed.' })
  updatedAt!: Date;
}

export function toUser(record: UserRecord): User {
  return {
    id: String(record._id),
    email: record.email,
    firstName: record.firstName,
    lastName: record.lastName,
    emailVerified: record.emailVerified,
    twoFactorEnabled: Boolean(record.totpSecret),
    identities: record.identities ?? [],
    role: record.role ?? UserRole.USER,
    metadata: record.metadata ?? {},
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}
