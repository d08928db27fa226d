import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import type { GraphQLContext } from '../../../graphql/context';
import { requestMetaOf, viewerOf } from '../../../graphql/viewer';
import { AuthPayload } from '../auth-payload.type';
import type { PasskeyListService } from './passkey-list.service';
import type { PasskeyRegistrationService } from './passkey-registration.service';
import type { PasskeySignInService } from './passkey-sign-in.service';
import { Passkey } from './passkey.type';

@Resolver()
export class PasskeysResolver {
  constructor(
    private readonly registration: PasskeyRegistrationService,
    private readonly signIn: PasskeySignInService,
    private readonly list: PasskeyListService,
  ) {}

  @Authorized()
  @Query(() => [Passkey], { description: "The caller's passkeys, oldest first." })
  passkeys(@Ctx() context: GraphQLContext): Promise<Passkey[]> {
    return this.list.list(viewerOf(context));
  }

  @Authorized()
  @Mutation(() => GraphQLJSONObject, {
    description:
      'WebAuthn creation options (JSON) for navigator.credentials.create; then finishPasskeyRegistration.',
  })
  startPasskeyRegistration(@Ctx() context: GraphQLContext): Promise<Record<string, unknown>> {
    return this.registration.start(viewerOf(context));
  }

  @Authorized()
  @Mutation(() => Passkey, {
    description:
      "Stores the passkey from the authenticator's response (JSON). INVALID_TOKEN: start again; BAD_USER_INPUT: not verified.",
  })
  finishPasskeyRegistration(
    @Arg('response', () => GraphQLJSONObject, { validate: false })
    response: Record<string, unknown>,
    @Arg('name', () => String, { nullable: true }) name: string | null,
    @Ctx() context: GraphQLContext,
  ): Promise<Passkey> {
    return this.registration.finish(viewerOf(context), response, name, requestMetaOf(context));
  }

  @Authorized()
  @Mutation(() => Boolean, {
    description:
      'Removes a passkey. NOT_FOUND for another user’s; CONFLICT when it is the last way in.',
  })
  removePasskey(@Arg('id', () => ID) id: string, @Ctx() context: GraphQLContext): Promise<boolean> {
    return this.list.remove(viewerOf(context), id, requestMetaOf(context));
  }

  @Mutation(() => GraphQLJSONObject, {
    description:
      'WebAuthn request options (JSON) for navigator.credentials.get; with no email, any discoverable passkey may answer.',
  })
  startPasskeySignIn(
    @Arg('email', () => String, { nullable: true }) email: string | null,
  ): Promise<Record<string, unknown>> {
    return this.signIn.start(email);
  }

  @Mutation(() => AuthPayload, {
    description:
      'Signs in with the authenticator’s response (JSON); no second factor follows. INVALID_CREDENTIALS when refused; INVALID_TOKEN: start again.',
  })
  finishPasskeySignIn(
    @Arg('response', () => GraphQLJSONObject, { validate: false })
    response: Record<string, unknown>,
    @Ctx() context: GraphQLContext,
  ): Promise<AuthPayload> {
    return this.signIn.finish(response, requestMetaOf(context));
  }
}
