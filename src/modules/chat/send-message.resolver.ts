import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context';
import { viewerOf } from '../../graphql/viewer';
import { toChat, toMessage } from './chat.mappers';
import { EditMessageInput, RegenerateReplyInput, SendMessageInput } from './chat.inputs';
import { Message, SendMessagePayload } from './chat.types';
import type { SendMessageService, SentPrompt } from './send-message.service';
import type { StopGenerationService } from './stop-generation.service';

const toPayload = (result: SentPrompt): SendMessagePayload => ({
  chat: toChat(result.chat),
  userMessage: toMessage(result.userMessage),
  assistantMessage: toMessage(result.assistantMessage),
});

@Resolver()
export class SendMessageResolver {
  constructor(
    private readonly sender: SendMessageService,
    private readonly stopper: StopGenerationService,
  ) {}

  @Authorized()
  @Mutation(() => SendMessagePayload, {
    description:
      'Saves the prompt and a STREAMING reply and returns at once; follow the reply with messageStream. Creates a chat when chatId is left out.',
  })
  async sendMessage(
    @Arg('input', () => SendMessageInput) input: SendMessageInput,
    @Ctx() context: GraphQLContext,
  ): Promise<SendMessagePayload> {
    return toPayload(await this.sender.send(viewerOf(context), input));
  }

  @Authorized()
  @Mutation(() => SendMessagePayload, {
    description:
      'A new version of an earlier prompt, beside it (same parent), and a reply streamed under it; the old branch stays. CONFLICT while the message is STREAMING.',
  })
  async editMessage(
    @Arg('input', () => EditMessageInput) input: EditMessageInput,
    @Ctx() context: GraphQLContext,
  ): Promise<SendMessagePayload> {
    return toPayload(await this.sender.edit(viewerOf(context), input));
  }

  @Authorized()
  @Mutation(() => SendMessagePayload, {
    description:
      'Another reply to the same prompt, beside the given reply, streamed; the old one stays. CONFLICT while it is STREAMING.',
  })
  async regenerateReply(
    @Arg('input', () => RegenerateReplyInput) input: RegenerateReplyInput,
    @Ctx() context: GraphQLContext,
  ): Promise<SendMessagePayload> {
    return toPayload(await this.sender.regenerate(viewerOf(context), input));
  }

  @Authorized()
  @Mutation(() => Message, {
    description: 'Stops a reply being written; it is saved STOPPED with the text so far.',
  })
  async stopGeneration(
    @Arg('messageId', () => ID) messageId: string,
    @Ctx() context: GraphQLContext,
  ): Promise<Message> {
    return toMessage(await this.stopper.stop(viewerOf(context).userId, messageId));
  }
}
