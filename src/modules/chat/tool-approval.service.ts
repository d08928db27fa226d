import { BadUserInputError, NotFoundError } from '../../errors/errors';
import type { Approvals } from '../tools/approvals';
import { MessageStatus, ToolCallStatus } from './chat-enums';
import type { MessageRecord } from './message.model';
import type { MessageService } from './message.service';

/**
 * approveToolCall: the owner's answer to a tool call that waits for it. The call must be found
 * waiting in the saved reply (the reply saves it so before it waits); the answer then reaches
 * the reply on whichever instance writes it (Approvals). Someone else's message is NOT_FOUND.
 */
export class ToolApprovalService {
  constructor(
    private readonly messages: MessageService,
    private readonly approvals: Approvals,
  ) {}

  async decide(
    userId: string,
    messageId: string,
    toolCallId: string,
    approve: boolean,
  ): Promise<MessageRecord> {
    const message = await this.messages.getOwned(userId, messageId);
    const call = message.parts?.find((part) => part.toolCall?.id === toolCallId)?.toolCall;
    if (!call) throw new NotFoundError('Tool call');
    if (
      message.status !== MessageStatus.STREAMING ||
      call.status !== ToolCallStatus.PENDING_APPROVAL
    ) {
      throw new BadUserInputError({ toolCallId: 'That tool call is not waiting for approval.' });
    }
    this.approvals.decide(messageId, { toolCallId, approve });
    return message;
  }
}
