import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../../graphql/context';
import { requestMetaOf, viewerOf } from '../../../graphql/viewer';
import { toUser, User } from '../../users/user.type';
import { AuthPayload } from '../auth-payload.type';
import type { SecondFactorSignInService } from './second-factor-sign-in.service';
import type { TotpEnrollmentService } from './totp-enrollment.service';
import { SecondFactorInput } from './totp.inputs';
import { TotpEnrollment } from './totp.types';
import type { TwoFactorDisableService } from './two-factor-disable.service';

@Resolver()
export class TotpResolver {
  constructor(
    private readonly enrollment: TotpEnrollmentService,
    private readonly secondFactor: SecondFactorSignInService,
    private readonly disabling: TwoFactorDisableService,
  ) {}

  @Authorized()
  @Mutation(() => TotpEnrollment, {
    description:
      'Begins turning two-step sign-in on (the password is asked again). CONFLICT when it is on.',
  })
  startTotpEnrollment(
    @Arg('password', () => String) password: string,
    @Ctx() context: GraphQLContext,
  ): Promise<TotpEnrollment> {
    return this.enrollment.start(viewerOf(context), password);
  }

  @Authorized()
  @Mutation(() => [String], {
    description:
      'Turns two-step sign-in on with a first code from the app; returns 10 recovery codes, shown once.',
  })
  confirmTotpEnrollment(
    @Arg('code', () => String) code: string,
    @Ctx() context: GraphQLContext,
  ): Promise<string[]> {
    return this.enrollment.confirm(viewerOf(context), code, requestMetaOf(context));
  }

  @Authorized()
  @Mutation(() => User, {
    description:
      'Turns two-step sign-in off (password and a code, TOTP or recovery) and ends every other session.',
  })
  async disableTwoFactor(
    @Arg('password', () => String) password: string,
    @Arg('code', () => String) code: string,
    @Ctx() context: GraphQLContext,
  ): Promise<User> {
    return toUser(
      await this.disabling.disable(viewerOf(context), password, code, requestMetaOf(context)),
    );
  }

  @Mutation(() => AuthPayload, {
    description:
      'Finishes a sign-in that answered SECOND_FACTOR_REQUIRED. INVALID_CREDENTIALS for a wrong code (extensions.attemptsLeft); INVALID_TOKEN when the challenge is used, expired or out of attempts.',
  })
  verifySecondFactor(
    @Arg('input', () => SecondFactorInput) input: SecondFactorInput,
    @Ctx() context: GraphQLContext,
  ): Promise<AuthPayload> {
    return this.secondFactor.verify(input, requestMetaOf(context));
  }
}
