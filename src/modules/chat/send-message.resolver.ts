import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../kernel/context';
import { viewerOf } from '../../kernel/viewer';
import { toChat, toMessage } from './chat.mappers';
import { SendMessageInput } from './chat.inputs';
import { Message, SendMessagePayload } from './chat.types';
import type { SendMessageService } from './send-message.service';
import type { StopGenerationService } from './stop-generation.service';

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
    const result = await this.sender.send(viewerOf(context), input);
    return {
      chat: toChat(result.chat),
      userMessage: toMessage(result.userMessage),
      assistantMessage: toMessage(result.assistantMessage),
    };
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
