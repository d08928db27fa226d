import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context';
import { requestMetaOf, viewerOf } from '../../graphql/viewer';
import { AuthPayload } from './auth-payload.type';
import { LoginInput, RegisterInput } from './auth.inputs';
import type { LoginService } from './login.service';
import type { RegistrationService } from './registration.service';
import type { SessionService } from './session.service';
import type { TokenRefreshService } from './token-refresh.service';

@Resolver()
export class AuthResolver {
  constructor(
    private readonly registration: RegistrationService,
    private readonly loginService: LoginService,
    private readonly tokenRefresh: TokenRefreshService,
    private readonly sessions: SessionService,
  ) {}

  @Mutation(() => AuthPayload, {
    description:
      'Creates an account, signs it in, and mails a verification link. CONFLICT when the address is taken.',
  })
  register(
    @Arg('input', () => RegisterInput) input: RegisterInput,
    @Ctx() context: GraphQLContext,
  ): Promise<AuthPayload> {
    return this.registration.register(input, requestMetaOf(context));
  }

  @Mutation(() => AuthPayload, {
    description:
      'Signs in on a new session. INVALID_CREDENTIALS for an unknown address or a wrong password alike.',
  })
  login(
    @Arg('input', () => LoginInput) input: LoginInput,
    @Ctx() context: GraphQLContext,
  ): Promise<AuthPayload> {
    return this.loginService.login(input, requestMetaOf(context));
  }

  @Mutation(() => AuthPayload, {
    description:
      'Swaps a refresh token for a new pair. Each refresh token works once; reusing one ends its session.',
  })
  refreshSession(
    @Arg('refreshToken', () => String) refreshToken: string,
    @Ctx() context: GraphQLContext,
  ): Promise<AuthPayload> {
    return this.tokenRefresh.refresh(refreshToken, requestMetaOf(context));
  }

  @Mutation(() => Boolean, {
    description: 'Ends the session of this refresh token. False when it was not a live session.',
  })
  logout(@Arg('refreshToken', () => String) refreshToken: string): Promise<boolean> {
    return this.sessions.endByRefreshToken(refreshToken);
  }

  @Authorized()
  @Mutation(() => Boolean, {
    description: "Ends every one of the caller's sessions, this one too.",
  })
  async logoutAllSessions(@Ctx() context: GraphQLContext): Promise<boolean> {
    await this.sessions.endAll(viewerOf(context).userId);
    return true;
  }
}
