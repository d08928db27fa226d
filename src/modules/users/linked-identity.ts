import { prop } from '@typegoose/typegoose';
import { Field, ObjectType } from 'type-graphql';

/** An OpenID Connect identity that signs this account in (kept on the user's document). */
@ObjectType({
  simpleResolvers: true,
  description: 'A single sign-on identity linked to the account.',
})
export class LinkedIdentity {
  @Field(() => String, { description: "The provider's id (signInProviders)." })
  @prop({ type: () => String, required: true })
  provider!: string;

  /** The provider's `sub`: never shown, it is the key of the link. */
  @prop({ type: () => String, required: true })
  subject!: string;

  @Field(() => String, { nullable: true, description: 'The address the provider gave.' })
  @prop({ type: () => String })
  email?: string;

  @Field(() => Date, { description: 'When it was linked.' })
  @prop({ type: () => Date, required: true })
  linkedAt!: Date;
}
