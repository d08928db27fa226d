import {
  Arg,
  Authorized,
  Ctx,
  FieldResolver,
  ID,
  Int,
  Mutation,
  Resolver,
  Root,
} from 'type-graphql';
import type { GraphQLContext } from '../../../graphql/context';
import { viewerOf } from '../../../graphql/viewer';
import { ChatLoaders } from '../chat.loaders';
import { toChat } from '../chat.mappers';
import { Chat, Message } from '../chat.types';
import type { MessageService } from '../message.service';
import type { BranchService } from './branch.service';

/** A message's place among its siblings, and switchBranch. */
@Resolver(() => Message)
export class BranchesResolver {
  constructor(
    private readonly branches: BranchService,
    private readonly messages: MessageService,
  ) {}

  @FieldResolver(() => [ID], {
    description:
      'This message and its siblings (edits of the same prompt, or replies to it), oldest first.',
  })
  async siblingIds(@Root() message: Message, @Ctx() context: GraphQLContext): Promise<string[]> {
    const tree = await ChatLoaders.of(context, this.messages).trees.load(message.chatId);
    return tree.siblingIds(message.id);
  }

  @FieldResolver(() => Int, {
    description: 'Where this message is in `siblingIds`, from 0 (a client shows it as 1).',
  })
  async siblingIndex(@Root() message: Message, @Ctx() context: GraphQLContext): Promise<number> {
    const tree = await ChatLoaders.of(context, this.messages).trees.load(message.chatId);
    return Math.max(0, tree.siblingIds(message.id).indexOf(message.id));
  }

  @Authorized()
  @Mutation(() => Chat, {
    description:
      'Shows the branch through this message: the chat continues from the deepest message under it, taking the latest child at each step.',
  })
  async switchBranch(
    @Arg('messageId', () => ID) messageId: string,
    @Ctx() context: GraphQLContext,
  ): Promise<Chat> {
    return toChat(await this.branches.switchTo(viewerOf(context).userId, messageId));
  }
}
