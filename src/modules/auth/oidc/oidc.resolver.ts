import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../../graphql/context';
import { requestMetaOf, viewerOf } from '../../../graphql/viewer';
import { toUser, User } from '../../users/user.type';
import { AuthPayload } from '../auth-payload.type';
import type { IdentityUnlinkService } from './identity-unlink.service';
import type { OidcCompleteService } from './oidc-complete.service';
import type { OidcStartService } from './oidc-start.service';
import { OidcStart, SignInProvider } from './oidc.types';

@Resolver()
export class OidcResolver {
  constructor(
    private readonly starts: OidcStartService,
    private readonly completions: OidcCompleteService,
    private readonly unlinks: IdentityUnlinkService,
  ) {}

  @Query(() => [SignInProvider], { description: 'The single sign-on providers offered.' })
  signInProviders(): SignInProvider[] {
    return this.starts.providers();
  }

  @Mutation(() => OidcStart, {
    description:
      'Begins a single sign-on: send the browser to authorizationUrl. BAD_USER_INPUT for an unknown provider or a redirectUri not allowed.',
  })
  startOidcSignIn(
    @Arg('provider', () => String) provider: string,
    @Arg('redirectUri', () => String) redirectUri: string,
  ): Promise<OidcStart> {
    return this.starts.start(provider, redirectUri);
  }

  @Mutation(() => AuthPayload, {
    description:
      'Finishes a single sign-on with the code, state and iss of the redirect. INVALID_TOKEN when it expired, was used or was refused; CONFLICT (extensions.reason) when the address belongs to an account it may not join; SECOND_FACTOR_REQUIRED when the account has two-step sign-in.',
  })
  completeOidcSignIn(
    @Arg('state', () => String) state: string,
    @Arg('code', () => String) code: string,
    @Arg('iss', () => String, { nullable: true }) iss: string | null,
    @Ctx() context: GraphQLContext,
  ): Promise<AuthPayload> {
    return this.completions.complete(state, code, iss, requestMetaOf(context));
  }

  @Authorized()
  @Mutation(() => User, {
    description:
      'Removes a single sign-on identity. CONFLICT (reason LAST_WAY_IN) when it is the only way to sign in.',
  })
  async unlinkIdentity(
    @Arg('provider', () => String) provider: string,
    @Ctx() context: GraphQLContext,
  ): Promise<User> {
    return toUser(await this.unlinks.unlink(viewerOf(context), provider, requestMetaOf(context)));
  }
}
