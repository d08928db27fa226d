import { Field, ObjectType } from 'type-graphql';
import { User } from '../users/user.type';

@ObjectType({
  simpleResolvers: true,
  description: 'What a sign-in returns: a token pair for one new or renewed session.',
})
export class AuthPayload {
  @Field(() => String, {
    description: 'Short-lived JWT for `Authorization: Bearer …` and WebSocket connectionParams.',
  })
  accessToken!: string;

  @Field(() => String, {
    description:
      'Single-use token for refreshSession; store it securely. Reusing one ends the session.',
  })
  refreshToken!: string;

  @Field(() => Date, { description: 'When the access token stops working.' })
  accessTokenExpiresAt!: Date;

  @Field(() => User, { description: 'The signed-in user.' })
  user!: User;
}
