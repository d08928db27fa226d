import { Field, ID, ObjectType } from 'type-graphql';

@ObjectType({ simpleResolvers: true, description: 'A signed-in device or client.' })
export class Session {
  @Field(() => ID, { description: 'Identifier, for revokeSession.' })
  id!: string;

  @Field(() => Boolean, { description: 'Whether this is the session making the request.' })
  current!: boolean;

  @Field(() => String, { nullable: true, description: 'The User-Agent that signed in.' })
  userAgent?: string;

  @Field(() => String, { nullable: true, description: 'The client address last seen.' })
  ip?: string;

  @Field(() => Date, { description: 'When the session was signed in.' })
  createdAt!: Date;

  @Field(() => Date, { description: 'When the session was last used (to within minutes).' })
  lastUsedAt!: Date;

  @Field(() => Date, { description: 'When the session ends unless refreshed.' })
  expiresAt!: Date;
}
