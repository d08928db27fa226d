import type { Redis } from 'ioredis';
import type { Logger } from '../../../../log/logger';
import type { Metrics } from '../../../../metrics/metrics';
import { InProcessReplyLogs } from '../in-process-reply-logs';
import type { ReplyLog, ReplyLogs } from '../reply-log';
import type { LiveChannels } from './live-channels';
import { replyKeys } from './redis-reply-keys';
import { RemoteReplyLog, type RecordLoader } from './remote-reply-log';
import { ReplyBatchWriter } from './reply-batch-writer';
import { activeTraceparent, linkActiveSpanTo } from '../../../../telemetry/spans';

/**
 * Reply logs shared by the instances of a cluster through Redis. The writer's own process
 * keeps the log in memory too (InProcessReplyLogs), so followers on the writer's instance cost
 * nothing more than with one process; other instances read the Redis Stream and listen on the
 * reply's channel (RemoteReplyLog). Pending writes go out in one script call for every reply
 * (ReplyBatchWriter).
 *
 * Redis away does not stop a reply: it streams to followers on its own instance and is saved
 * as usual; its entries wait in memory and are written once Redis answers, so a follower
 * elsewhere catches up from the log.
 */
export class RedisReplyLogs implements ReplyLogs {
  private readonly local: InProcessReplyLogs;
  private readonly writer: ReplyBatchWriter;

  constructor(
    private readonly redis: Redis,
    private readonly channels: LiveChannels,
    private readonly instanceId: string,
    private readonly loadRecord: RecordLoader,
    logger: Logger,
    /** A reply this instance no longer owns (swept as its owner looked dead): stop writing it. */
    onDisowned: (messageId: string) => void,
    private readonly metrics?: Metrics,
    windowMs?: number,
  ) {
    this.local = new InProcessReplyLogs(metrics);
    this.writer = new ReplyBatchWriter(redis, channels, instanceId, logger, onDisowned, windowMs);
  }

  open(messageId: string, userId: string): ReplyLog {
    const local = this.local.open(messageId, userId);
    // Opened inside the reply's span (ReplyManager): its context goes with the meta.
    const writing = this.writer.begin(messageId, userId, activeTraceparent());
    let seq = 0;
    let finished = false;
    return {
      messageId,
      userId,
      // In a cluster another instance may end it (takeover): its final save stays conditional.
      exclusive: false,
      ownerKnown: true,
      append: (text) => {
        local.append(text);
        seq += 1;
        writing.append(seq, text);
      },
      appendReasoning: (text) => {
        local.appendReasoning(text);
        seq += 1;
        writing.append(seq, text, 'r');
      },
      appendToolCall: (state) => {
        local.appendToolCall(state);
        seq += 1;
        writing.append(seq, JSON.stringify(state), 't');
      },
      finish: (record) => {
        local.finish(record);
        if (finished) return;
        finished = true;
        writing.end(seq + 1, !record);
      },
      read: (afterSeq) => local.read(afterSeq),
      listen: (listener) => local.listen(listener),
    };
  }

  async find(messageId: string): Promise<ReplyLog | undefined> {
    const local = await this.local.find(messageId);
    if (local) return local;
    const [userId, owner, traceparent] = await this.redis.hmget(
      replyKeys.meta(messageId),
      'userId',
      'owner',
      'traceparent',
    );
    if (!userId) return undefined;
    // The follower's span (its messageStream subscription) links to the reply written elsewhere.
    linkActiveSpanTo(traceparent, { 'palaver.message.id': messageId });
    return new RemoteReplyLog(
      messageId,
      userId,
      owner,
      this.redis,
      this.channels,
      this.loadRecord,
      this.metrics,
    );
  }

  retire(log: ReplyLog): void {
    this.local.retire(log);
  }

  close(): void {
    this.writer.close();
    this.local.close();
  }

  async stillOwned(messageIds: string[]): Promise<Set<string>> {
    const pipeline = this.redis.pipeline();
    for (const id of messageIds) pipeline.hmget(replyKeys.meta(id), 'owner', 'state');
    const answers = (await pipeline.exec()) ?? [];
    return new Set(
      messageIds.filter((id, index) => {
        if (this.writer.disowns(id)) return false;
        const [owner, state] = (answers[index]?.[1] as Array<string | null> | undefined) ?? [];
        // No meta yet (its first batch is on the way) or none any more (Redis flushed: the
        // next batch finds out): still ours until Redis says otherwise.
        return !owner || (owner === this.instanceId && state === 'streaming');
      }),
    );
  }

  /** Writes what is pending now (shutdown waits for the last batches). */
  flush(): Promise<void> {
    return this.writer.flush();
  }
}
