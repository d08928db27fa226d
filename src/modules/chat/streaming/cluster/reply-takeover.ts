import type { Redis } from 'ioredis';
import { updateByIdIf } from '../../../../db/by-id';
import type { Logger } from '../../../../log/logger';
import type { Metrics } from '../../../../metrics/metrics';
import { MessageStatus } from '../../chat-enums';
import type { MessageModel, MessageRecord } from '../../message.model';
import type { ReplyBatch } from './reply-batch';
import { ReplyContent } from '../reply-content';
import { deltaOfEntry } from '../reply-event';
import { ENDED_LOG_TTL_MS, replyKeys } from './redis-reply-keys';
import { CLAIM_LUA, END_LUA } from './reply-scripts';

/**
 * Ends a reply in its owner's place (the owner is gone, or a stop found it dead): claims it in
 * Redis exactly once (CLAIM_LUA), so the owner's later writes are refused, saves its logged
 * text, then logs and publishes the end (END_LUA), so a follower that sees the end finds it
 * saved.
 */
export class ReplyTakeover {
  constructor(
    private readonly redis: Redis,
    private readonly models: { Message: MessageModel },
    private readonly logger: Logger,
    private readonly metrics?: Metrics,
  ) {
    redis.defineCommand('palaverClaimReply', { numberOfKeys: 3, lua: CLAIM_LUA });
    redis.defineCommand('palaverEndReply', { numberOfKeys: 3, lua: END_LUA });
  }

  /**
   * Claims a reply and ends it with its logged text: saved with `status`, or not saved at all
   * (null: its chat is being deleted). Undefined when another instance ended it first.
   */
  async takeOver(
    messageId: string,
    status: MessageStatus | null,
  ): Promise<MessageRecord | null | undefined> {
    const claimed = (await (
      this.redis as unknown as {
        palaverClaimReply(...args: string[]): Promise<[number, string[]] | null>;
      }
    ).palaverClaimReply(
      replyKeys.log(messageId),
      replyKeys.meta(messageId),
      replyKeys.streaming,
      messageId,
    )) as [number, string[]] | null;
    if (!claimed) return this.savedRecord(messageId);
    const [lastSeq, entries] = claimed;
    const content = contentOf(entries);
    const record = status
      ? await updateByIdIf(
          this.models.Message,
          messageId,
          { status: MessageStatus.STREAMING },
          // The log holds every event sent to followers, more than the last partial save.
          {
            $set: {
              content: content.content,
              ...content.savedFields(),
              status,
            },
          },
        )
      : null;
    const end: ReplyBatch = { id: messageId, e: '', d: [], x: lastSeq + 1 };
    if (!status) end.del = 1;
    await (
      this.redis as unknown as {
        palaverEndReply(...args: Array<string | number>): Promise<number>;
      }
    ).palaverEndReply(
      replyKeys.log(messageId),
      replyKeys.meta(messageId),
      replyKeys.live(messageId),
      JSON.stringify(end),
      lastSeq + 1,
      ENDED_LOG_TTL_MS,
    );
    this.metrics?.takeovers.inc({ status: status ?? 'DELETED' });
    if (status) this.logger.warn({ messageId, status }, 'took over a reply whose owner is gone');
    return record ?? (status ? this.savedRecord(messageId) : null);
  }

  savedRecord(messageId: string): Promise<MessageRecord | null> {
    return this.models.Message.findById(messageId).lean();
  }
}

/**
 * A reply's parts as its log holds them (kind and payload, in order, from CLAIM_LUA): answer
 * text, reasoning and tool calls; a call its owner left running ends FAILED.
 */
function contentOf(entries: readonly string[]): ReplyContent {
  const content = new ReplyContent();
  for (let i = 0; i + 1 < entries.length; i += 2) {
    const delta = deltaOfEntry('', 0, entries[i], entries[i + 1]!);
    if (!delta) continue;
    if (delta.toolCall) content.toolCall(delta.toolCall);
    else if (delta.reasoningDelta !== '') content.reasoning(delta.reasoningDelta);
    else content.text(delta.delta);
  }
  content.endOpenCalls('The server writing the reply stopped.');
  return content;
}
