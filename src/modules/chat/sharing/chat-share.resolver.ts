import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../../kernel/context';
import { viewerOf } from '../../../kernel/viewer';
import type { ChatShareService } from './chat-share.service';
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
  @Query(() => [ChatShare], { description: 'The live links to one of your chats, newest first.' })
  chatShares(
    @Arg('chatId', () => ID) chatId: string,
    @Ctx() context: GraphQLContext,
  ): Promise<ChatShare[]> {
    return this.shares.list(viewerOf(context).userId, chatId);
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
