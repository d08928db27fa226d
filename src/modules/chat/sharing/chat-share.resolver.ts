import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { BadUserInputError } from '../../../errors/errors';
import type { GraphQLContext } from '../../../graphql/context';
import { viewerOf } from '../../../graphql/viewer';
import { SHARE_LIMITS, type ChatShareService } from './chat-share.service';
import { ChatShare, SharedChat } from './chat-share.types';

@Resolver()
export class ChatShareResolver {
  constructor(private readonly shares: ChatShareService) {}

  @Authorized()
  @Mutation(() => ChatShare, {
    description:
      'A read-only link to a snapshot of the active branch as it is now; sharing again makes a new snapshot.',
  })
  shareChat(@Arg('id', () => ID) id: string, @Ctx() context: GraphQLContext): Promise<ChatShare> {
    return this.shares.share(viewerOf(context).userId, id);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: 'Revokes a link: it stops working at once.' })
  unshareChat(
    @Arg('shareId', () => ID) shareId: string,
    @Ctx() context: GraphQLContext,
  ): Promise<boolean> {
    return this.shares.unshare(viewerOf(context).userId, shareId);
  }

  @Authorized()
  @Query(() => [ChatShare], {
    description: `The live links to one of your chats, newest first (a chat has at most ${SHARE_LIMITS.perChat}).`,
  })
  chatShares(
    @Arg('chatId', () => ID) chatId: string,
    @Ctx() context: GraphQLContext,
    @Arg('limit', () => Int, {
      nullable: true,
      defaultValue: SHARE_LIMITS.perChat,
      description: `1 to ${SHARE_LIMITS.perChat}.`,
    })
    limit: number | null,
    @Arg('skip', () => Int, { nullable: true, description: 'Links to pass over first.' })
    skip?: number | null,
  ): Promise<ChatShare[]> {
    return this.shares.list(viewerOf(context).userId, chatId, sharePage(limit, skip));
  }

  @Query(() => SharedChat, {
    description:
      'What a shared link shows, without signing in: title, date and messages, nothing else. NOT_FOUND once revoked.',
  })
  sharedChat(
    @Arg('token', () => String) token: string,
    @Ctx() context: GraphQLContext,
  ): Promise<SharedChat> {
    return this.shares.read(token, context.ip);
  }
}

/** A page of links: `limit` from 1 to the per-chat cap, `skip` from 0 to it. */
function sharePage(limit: number | null, skip: number | null | undefined) {
  const page = { limit: limit ?? SHARE_LIMITS.perChat, skip: skip ?? 0 };
  if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > SHARE_LIMITS.perChat) {
    throw new BadUserInputError({ limit: `Use a limit from 1 to ${SHARE_LIMITS.perChat}.` });
  }
  if (page.skip < 0 || page.skip > SHARE_LIMITS.perChat) {
    throw new BadUserInputError({ skip: `Use a skip from 0 to ${SHARE_LIMITS.perChat}.` });
  }
  return page;
}
