import { Field, ObjectType } from 'type-graphql';

@ObjectType({ simpleResolvers: true, description: 'A single sign-on provider a user may pick.' })
export class SignInProvider {
  @Field(() => String, { description: 'What startOidcSignIn takes.' })
  id!: string;

  @Field(() => String, { description: 'What to show on the button.' })
  name!: string;
}

@ObjectType({ simpleResolvers: true, description: 'Where to send the browser to sign in.' })
export class OidcStart {
  @Field(() => String, { description: "The provider's sign-in page, with PKCE, state and nonce." })
  authorizationUrl!: string;

  @Field(() => String, {
    description: 'Comes back on the redirect; give it to completeOidcSignIn.',
  })
  state!: string;
}
