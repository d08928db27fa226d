import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context';
import { requestMetaOf, viewerOf } from '../../graphql/viewer';
import { ChangePasswordInput, ResetPasswordInput } from './auth.inputs';
import type { PasswordChangeService } from './password-change.service';
import type { PasswordResetService } from './password-reset.service';

@Resolver()
export class PasswordResolver {
  constructor(
    private readonly reset: PasswordResetService,
    private readonly change: PasswordChangeService,
  ) {}

  @Mutation(() => Boolean, {
    description:
      'Mails a password-reset link if the address has an account. Always true: the answer does not reveal accounts.',
  })
  forgotPassword(
    @Arg('email', () => String) email: string,
    @Ctx() context: GraphQLContext,
  ): Promise<boolean> {
    return this.reset.requestReset(email, requestMetaOf(context));
  }

  @Mutation(() => Boolean, {
    description: 'Sets a new password with the token from a reset link, and ends every session.',
  })
  resetPassword(
    @Arg('input', () => ResetPasswordInput) input: ResetPasswordInput,
  ): Promise<boolean> {
    return this.reset.reset(input);
  }

  @Authorized()
  @Mutation(() => Boolean, {
    description: 'Changes the password (the current one is required) and ends every other session.',
  })
  changePassword(
    @Arg('input', () => ChangePasswordInput) input: ChangePasswordInput,
    @Ctx() context: GraphQLContext,
  ): Promise<boolean> {
    return this.change.change(viewerOf(context), input);
  }
}
