import type { Redis } from 'ioredis';
import type { Logger } from '../../../../log/logger';
import type { Metrics } from '../../../../metrics/metrics';
import { MessageStatus } from '../../chat-enums';
import type { MessageModel, MessageRecord } from '../../message.model';
import type { StopReason } from '../reply';
import type { ReplyManager } from '../reply-manager';
import { DEFAULT_CLUSTER_TIMING, type ClusterTiming } from './cluster-timing';
import { DeadOwnerSweep } from './dead-owner-sweep';
import { ForgottenReplies } from './forgotten-replies';
import type { LiveChannels } from './live-channels';
import { ENDED_LOG_TTL_MS, replyKeys } from './redis-reply-keys';
import { ReplyTakeover } from './reply-takeover';

/** How often a routed stop looks whether the owner has ended the reply. */
const STOP_POLL_MS = 50;

interface StopCommand {
  messageId: string;
  reason: StopReason;
}

/**
 * Who owns each reply in a cluster, and what happens when the owner cannot finish it:
 * - this instance holds a lease key, refreshed by a heartbeat; the reply's meta names its
 *   owner (ReplyBatchWriter writes it);
 * - every instance sweeps each second: a reply streaming on an instance whose lease is gone
 *   is claimed by exactly one (CLAIM_LUA), saved INTERRUPTED with its logged text, and ended;
 *   the owner, should it wake up, finds its later writes refused (DeadOwnerSweep,
 *   ReplyTakeover);
 * - stopGeneration and deleteChat reach the owner over its control channel, with a stop key it
 *   also polls on its heartbeat (a lost message does not lose the stop); if the owner is dead
 *   the caller ends the reply itself, once;
 * - a database check ends STREAMING replies that Redis has forgotten (flushed, or lost:
 *   ForgottenReplies).
 */
export class ClusterReplies {
  private readonly timers: NodeJS.Timeout[] = [];
  private unsubscribeControl: () => void = () => {};
  private readonly takeover: ReplyTakeover;
  private readonly deadOwners: DeadOwnerSweep;
  private readonly forgotten: ForgottenReplies;

  constructor(
    private readonly redis: Redis,
    private readonly channels: LiveChannels,
    private readonly instanceId: string,
    models: { Message: MessageModel },
    private readonly replies: ReplyManager,
    private readonly logger: Logger,
    private readonly timing: ClusterTiming = DEFAULT_CLUSTER_TIMING,
    metrics?: Metrics,
  ) {
    this.takeover = new ReplyTakeover(redis, models, logger, metrics);
    this.deadOwners = new DeadOwnerSweep(
      redis,
      instanceId,
      replies,
      this.takeover,
      timing.heartbeatMs,
    );
    this.forgotten = new ForgottenReplies(redis, models, replies, logger);
  }

  async start(): Promise<void> {
    await this.heartbeat();
    const { unsubscribe } = this.channels.subscribe(replyKeys.control(this.instanceId), {
      message: (raw) => this.onControl(raw),
      reconnected: () => {},
    });
    this.unsubscribeControl = unsubscribe;
    this.every(this.timing.heartbeatMs, () => this.heartbeat());
    this.every(this.timing.sweepMs, () => this.deadOwners.sweep());
    this.every(this.timing.databaseCheckMs, () => this.forgotten.check());
  }

  /** Stops the loops and gives up the lease (this instance's replies have ended by now). */
  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.unsubscribeControl();
    await this.redis.del(replyKeys.lease(this.instanceId)).catch(() => {});
  }

  /**
   * Stops a reply that this process does not write. Returns its record once ended
   * (by its owner, or here if the owner is gone), or undefined when Redis knows no such
   * streaming reply (the caller then settles it in the database alone).
   */
  async stopRemote(
    messageId: string,
    reason: StopReason,
  ): Promise<MessageRecord | null | undefined> {
    const [owner, state] = await this.redis.hmget(replyKeys.meta(messageId), 'owner', 'state');
    if (!owner || state !== 'streaming') return undefined;
    const command: StopCommand = { messageId, reason };
    await this.redis
      .multi()
      .set(replyKeys.stop(messageId), reason, 'PX', ENDED_LOG_TTL_MS)
      .publish(replyKeys.control(owner), JSON.stringify(command))
      .exec();
    const deadline = Date.now() + this.timing.stopWaitMs;
    for (;;) {
      const [current, lease] = await Promise.all([
        this.redis.hget(replyKeys.meta(messageId), 'state'),
        this.redis.exists(replyKeys.lease(owner)),
      ]);
      if (current !== 'streaming') return this.takeover.savedRecord(messageId);
      if (!lease || Date.now() >= deadline) {
        return this.takeover.takeOver(
          messageId,
          reason === 'stopped' ? MessageStatus.STOPPED : null,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, STOP_POLL_MS));
    }
  }

  private async heartbeat(): Promise<void> {
    await this.redis.set(replyKeys.lease(this.instanceId), '1', 'PX', this.timing.leaseMs);
    // Stops whose control message was lost (a subscriber reconnecting) are found here.
    const ids = this.replies.runningIds();
    if (ids.length === 0) return;
    // And replies swept while this process was stalled (SIGSTOP, a long pause) end here.
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.get(replyKeys.stop(id)).hget(replyKeys.meta(id), 'state');
    const answers = (await pipeline.exec()) ?? [];
    ids.forEach((id, index) => {
      const reason = answers[2 * index]?.[1] as string | null;
      const state = answers[2 * index + 1]?.[1] as string | null;
      if (reason) void this.replies.get(id)?.stop(reason as StopReason);
      else if (state === 'ended') void this.replies.get(id)?.stop('interrupted');
    });
  }

  private onControl(raw: string): void {
    try {
      const command = JSON.parse(raw) as StopCommand;
      void this.replies.get(command.messageId)?.stop(command.reason);
    } catch (error) {
      this.logger.warn({ err: error }, 'an unreadable control message was ignored');
    }
  }

  /** Runs `task` every `ms`, one at a time; a failure (Redis or the database away) is logged. */
  private every(ms: number, task: () => Promise<void>): void {
    let lastLogged = 0;
    const timer = setInterval(() => {
      task().catch((error: unknown) => {
        if (Date.now() - lastLogged < 10_000) return;
        lastLogged = Date.now();
        this.logger.warn({ err: error }, 'a cluster task failed; it runs again shortly');
      });
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }
}
