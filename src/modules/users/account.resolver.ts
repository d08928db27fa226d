import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context';
import { viewerOf } from '../../graphql/viewer';
import type { AccountDeletionService } from './account-deletion.service';

@Resolver()
export class AccountResolver {
  constructor(private readonly deletion: AccountDeletionService) {}

  @Authorized()
  @Mutation(() => Boolean, {
    description:
      'Deletes the account and everything of it: chats, messages, shared links, sessions (every device is signed out). Asks for the password again; INVALID_CREDENTIALS when it is wrong.',
  })
  deleteAccount(
    @Arg('password', () => String) password: string,
    @Ctx() context: GraphQLContext,
  ): Promise<boolean> {
    return this.deletion.delete(viewerOf(context), password);
  }
}
