import {
  Arg,
  Authorized,
  Ctx,
  FieldResolver,
  ID,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context';
import { costPerItem } from '../../graphql/field-annotations';
import { viewerOf } from '../../graphql/viewer';
import type { EmailVerifiedGuard } from '../auth/email-verified.guard';
import { ChatLoaders } from './chat.loaders';
import { toChat, toMessage } from './chat.mappers';
import { ChatFilter, CreateChatInput, UpdateChatInput } from './chat.inputs';
import { Chat, ChatConnection, Message, TagCount } from './chat.types';
import { CHAT_LIST_LIMITS, type ChatService } from './chat.service';
import { MESSAGE_PAGE_LIMITS, type MessageService } from './message.service';

/** Cost of a list field: its page size times what each item costs. */

@Resolver(() => Chat)
export class ChatResolver {
  constructor(
    private readonly chatService: ChatService,
    private readonly messageService: MessageService,
    private readonly verifiedGuard: EmailVerifiedGuard,
  ) {}

  @Authorized()
  @Query(() => ChatConnection, {
    description:
      "The caller's chats, latest activity first. `search` matches titles and message text, ignoring case.",
    complexity: costPerItem('limit', 20, CHAT_LIST_LIMITS.maxLimit),
  })
  async chats(
    @Ctx() context: GraphQLContext,
    @Arg('limit', () => Int, { nullable: true, defaultValue: 20, description: '1 to 100.' })
    limit: number | null,
    @Arg('skip', () => Int, { nullable: true, description: 'Chats to pass over first.' })
    skip?: number | null,
    @Arg('after', () => String, { nullable: true, description: "The previous page's endCursor." })
    after?: string | null,
    @Arg('search', () => String, { nullable: true, description: 'Text to look for.' })
    search?: string | null,
    @Arg('filter', () => ChatFilter, {
      nullable: true,
      description: 'Archived, pinned, tagged; archived chats are left out unless asked for.',
    })
    filter?: ChatFilter | null,
  ): Promise<ChatConnection> {
    const page = await this.chatService.list(viewerOf(context).userId, {
      limit: limit ?? 20,
      skip,
      after,
      search,
      filter,
    });
    return {
      nodes: page.records.map(toChat),
      totalCount: page.totalCount,
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
    };
  }

  @Authorized()
  @Query(() => [TagCount], {
    description: 'Your tags, with how many chats carry each, most used first.',
  })
  async chatTags(@Ctx() context: GraphQLContext): Promise<TagCount[]> {
    return this.chatService.tags(viewerOf(context).userId);
  }

  @Authorized()
  @Query(() => Chat, { description: 'One of your chats; NOT_FOUND for anything else.' })
  async chat(@Arg('id', () => ID) id: string, @Ctx() context: GraphQLContext): Promise<Chat> {
    return toChat(await this.chatService.get(viewerOf(context).userId, id));
  }

  @FieldResolver(() => [Message], {
    description:
      'The active branch in order, root first: its latest `limit` messages, or the `limit` before the message `before`.',
    complexity: costPerItem('limit', 50, MESSAGE_PAGE_LIMITS.max),
  })
  async messages(
    @Root() chat: Chat,
    @Ctx() context: GraphQLContext,
    @Arg('limit', () => Int, { nullable: true, defaultValue: 50, description: '1 to 200.' })
    limit: number | null,
    @Arg('before', () => ID, { nullable: true, description: 'Page backwards from this message.' })
    before?: string | null,
  ): Promise<Message[]> {
    const records = await ChatLoaders.of(context, this.messageService).messagePages.load({
      chatId: chat.id,
      path: chat.activePath,
      limit: limit ?? 50,
      before,
    });
    return records.map(toMessage);
  }

  @Authorized()
  @Mutation(() => Chat, { description: 'Starts an empty chat.' })
  async createChat(
    @Ctx() context: GraphQLContext,
    @Arg('input', () => CreateChatInput, { nullable: true }) input?: CreateChatInput | null,
  ): Promise<Chat> {
    const { userId } = viewerOf(context);
    await this.verifiedGuard.assertVerified(userId);
    return toChat(await this.chatService.create(userId, input));
  }

  @Authorized()
  @Mutation(() => Chat, {
    description: 'Renames a chat, changes its instructions or model, pins, archives or tags it.',
  })
  async updateChat(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateChatInput) input: UpdateChatInput,
    @Ctx() context: GraphQLContext,
  ): Promise<Chat> {
    return toChat(await this.chatService.update(viewerOf(context).userId, id, input));
  }

  @Authorized()
  @Mutation(() => Boolean, {
    description: 'Deletes a chat and its messages, stopping a reply in progress.',
  })
  deleteChat(@Arg('id', () => ID) id: string, @Ctx() context: GraphQLContext): Promise<boolean> {
    return this.chatService.delete(viewerOf(context).userId, id);
  }
}
