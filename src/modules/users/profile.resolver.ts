import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context';
import { viewerOf } from '../../graphql/viewer';
import type { ProfileService } from './profile.service';
import { UpdateProfileInput } from './update-profile.input';
import { toUser, User } from './user.type';

@Resolver()
export class ProfileResolver {
  constructor(private readonly profiles: ProfileService) {}

  @Authorized()
  @Query(() => User, { description: 'The signed-in user.' })
  async me(@Ctx() context: GraphQLContext): Promise<User> {
    return toUser(await this.profiles.get(viewerOf(context).userId));
  }

  @Authorized()
  @Mutation(() => User, { description: 'Changes names and merges metadata.' })
  async updateProfile(
    @Arg('input', () => UpdateProfileInput) input: UpdateProfileInput,
    @Ctx() context: GraphQLContext,
  ): Promise<User> {
    return toUser(await this.profiles.update(viewerOf(context).userId, input));
  }
}
