import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context';
import { NotFoundError } from '../../errors/errors';
import { viewerOf } from '../../graphql/viewer';
import { Session } from './session.type';
import type { SessionService } from './session.service';

@Resolver()
export class SessionsResolver {
  constructor(private readonly sessionService: SessionService) {}

  @Authorized()
  @Query(() => [Session], { description: "The caller's live sessions, most recently used first." })
  async sessions(@Ctx() context: GraphQLContext): Promise<Session[]> {
    const viewer = viewerOf(context);
    const records = await this.sessionService.list(viewer.userId);
    return records.map((record) => ({
      id: String(record._id),
      current: String(record._id) === viewer.sessionId,
      userAgent: record.userAgent,
      ip: record.ip,
      createdAt: record.createdAt,
      lastUsedAt: record.lastUsedAt,
      expiresAt: record.expiresAt,
    }));
  }

  @Authorized()
  @Mutation(() => Boolean, {
    description: "Ends one of the caller's sessions. NOT_FOUND for an id that is not theirs.",
  })
  async revokeSession(
    @Arg('id', () => ID) id: string,
    @Ctx() context: GraphQLContext,
  ): Promise<boolean> {
    if (!(await this.sessionService.end(viewerOf(context).userId, id)))
      throw new NotFoundError('Session');
    return true;
  }
}
