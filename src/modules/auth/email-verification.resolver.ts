import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context';
import { requestMetaOf } from '../../graphql/viewer';
import { toUser, User } from '../users/user.type';
import type { EmailVerificationService } from './email-verification.service';

@Resolver()
export class EmailVerificationResolver {
  constructor(private readonly verification: EmailVerificationService) {}

  @Mutation(() => User, {
    description:
      'Confirms the address with the token from the verification link. INVALID_TOKEN when it is unknown, used or expired.',
  })
  async verifyEmail(@Arg('token', () => String) token: string): Promise<User> {
    return toUser(await this.verification.verify(token));
  }

  @Mutation(() => Boolean, {
    description:
      'Mails a new verification link if the address has an unverified account. Always true: the answer does not reveal accounts.',
  })
  resendVerificationEmail(
    @Arg('email', () => String) email: string,
    @Ctx() context: GraphQLContext,
  ): Promise<boolean> {
    return this.verification.resend(email, requestMetaOf(context));
  }
}
