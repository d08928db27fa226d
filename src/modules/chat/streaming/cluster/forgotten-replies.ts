import type { Redis } from 'ioredis';
import { updateByIdIf } from '../../../../db/by-id';
import type { Logger } from '../../../../log/logger';
import { MessageStatus } from '../../chat-enums';
import type { MessageModel } from '../../message.model';
import type { ReplyManager } from '../reply-manager';
import { pipelineAnswers } from './redis-answers';
import { replyKeys } from './redis-reply-keys';

/**
 * The database check: STREAMING replies that Redis has forgotten (flushed, or lost) have no
 * owner to finish them, and no sweep sees them.
 */
export class ForgottenReplies {
  /** STREAMING replies Redis did not know at the last database check. */
  private unknownAtLastCheck = new Set<string>();

  constructor(
    private readonly redis: Redis,
    private readonly models: { Message: MessageModel },
    /** The replies written here: known to be alive whatever Redis says. */
    private readonly replies: ReplyManager,
    private readonly logger: Logger,
  ) {}

  /**
   * A STREAMING reply that no instance's meta names, seen so at two checks in a row (a reply
   * just created has its meta written within milliseconds), can never finish: INTERRUPTED.
   */
  async check(): Promise<void> {
    const streaming = await this.models.Message.find(
      { status: MessageStatus.STREAMING },
      { _id: 1 },
    ).lean();
    const candidates = streaming
      .map(({ _id }) => String(_id))
      .filter((messageId) => !this.replies.get(messageId));
    const known = await pipelineAnswers(
      this.redis,
      candidates.map((id) => ['exists', replyKeys.meta(id)]),
    );
    const unknown = new Set<string>();
    for (const [index, messageId] of candidates.entries()) {
      if (known[index] === 1) continue;
      if (this.unknownAtLastCheck.has(messageId)) {
        await updateByIdIf(
          this.models.Message,
          messageId,
          { status: MessageStatus.STREAMING },
          { $set: { status: MessageStatus.INTERRUPTED } },
        );
        this.logger.warn({ messageId }, 'a reply unknown to redis is now INTERRUPTED');
      } else unknown.add(messageId);
    }
    this.unknownAtLastCheck = unknown;
  }
}
