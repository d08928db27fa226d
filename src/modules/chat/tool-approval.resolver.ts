import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context';
import { viewerOf } from '../../graphql/viewer';
import { toMessage } from './chat.mappers';
import { Message } from './chat.types';
import type { ToolApprovalService } from './tool-approval.service';

@Resolver()
export class ToolApprovalResolver {
  constructor(private readonly approvals: ToolApprovalService) {}

  @Authorized()
  @Mutation(() => Message, {
    description:
      'Answers a tool call that waits for approval (PENDING_APPROVAL): it runs, or is DENIED and the model is told. Returns the reply as saved when the answer was sent; its stream shows the rest.',
  })
  async approveToolCall(
    @Arg('messageId', () => ID) messageId: string,
    @Arg('toolCallId', () => ID) toolCallId: string,
    @Arg('approve', () => Boolean) approve: boolean,
    @Ctx() context: GraphQLContext,
  ): Promise<Message> {
    const { userId } = viewerOf(context);
    return toMessage(await this.approvals.decide(userId, messageId, toolCallId, approve));
  }
}
