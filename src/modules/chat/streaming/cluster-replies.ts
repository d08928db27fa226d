import type { Redis } from 'ioredis';
import type { Logger } from '../../../log/logger';
import type { Metrics } from '../../../metrics/metrics';
import { MessageStatus } from '../chat-enums';
import type { MessageRecord, MessageModel } from '../message.model';
import type { StopReason } from './generation';
import type { GenerationManager } from './generation-manager';
import type { LiveChannels } from './live-channels';
import {
  CLAIM_LUA,
  END_LUA,
  ENDED_LOG_TTL_MS,
  replyKeys,
  type ReplyBatch,
} from './redis-reply-keys';
import { updateByIdIf } from '../../../db/by-id';

export interface ClusterTiming {
  /** The lease lapses this long after the last heartbeat: then others take the replies over. */
  leaseMs: number;
  heartbeatMs: number;
  /** How often every instance looks for replies whose owner is gone. */
  sweepMs: number;
  /** How often the database is checked for STREAMING replies that Redis no longer knows. */
  databaseCheckMs: number;
  /** A stop routed to a live owner is taken over by the caller if not done within this. */
  stopWaitMs: number;
}

export const DEFAULT_CLUSTER_TIMING: ClusterTiming = {
  leaseMs: 5_000,
  heartbeatMs: 1_500,
  sweepMs: 1_000,
  databaseCheckMs: 10_000,
  stopWaitMs: 3_000,
};

/** How often a routed stop looks whether the owner has ended the reply. */
const STOP_POLL_MS = 50;

interface StopCommand {
  messageId: string;
  reason: StopReason;
}

/**
 * Who owns each reply in a cluster, and what happens when the owner cannot finish it:
 * - this instance holds a lease key, refreshed by a heartbeat; the reply's meta names its
 *   owner (RedisReplyLogs writes it);
 * - every instance sweeps each second: a reply streaming on an instance whose lease is gone
 *   is claimed by exactly one (CLAIM_LUA), saved INTERRUPTED with its logged text, and ended;
 *   the owner, should it wake up, finds its later writes refused;
 * - stopGeneration and deleteChat reach the owner over its control channel, with a stop key it
 *   also polls on its heartbeat (a lost message does not lose the stop); if the owner is dead
 *   the caller ends the reply itself, once;
 * - a database check ends STREAMING replies that Redis has forgotten (flushed, or lost).
 */
export class ClusterReplies {
  private readonly timers: NodeJS.Timeout[] = [];
  private unsubscribeControl: () => void = () => {};
  /** STREAMING replies Redis did not know at the last database check. */
  private unknownAtLastCheck = new Set<string>();
  private sweeping = false;
  /** When this instance first saw each owner's lease missing (cleared once seen again). */
  private readonly leaseMissingSince = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly channels: LiveChannels,
    private readonly instanceId: string,
    private readonly models: { Message: MessageModel },
    private readonly generations: GenerationManager,
    private readonly logger: Logger,
    private readonly timing: ClusterTiming = DEFAULT_CLUSTER_TIMING,
    private readonly metrics?: Metrics,
  ) {
    redis.defineCommand('palaverClaimReply', { numberOfKeys: 3, lua: CLAIM_LUA });
    redis.defineCommand('palaverEndReply', { numberOfKeys: 3, lua: END_LUA });
  }

  async start(): Promise<void> {
    await this.heartbeat();
    const { unsubscribe } = this.channels.subscribe(replyKeys.control(this.instanceId), {
      message: (raw) => this.onControl(raw),
      reconnected: () => {},
    });
    this.unsubscribeControl = unsubscribe;
    this.every(this.timing.heartbeatMs, () => this.heartbeat());
    this.every(this.timing.sweepMs, () => this.sweep());
    this.every(this.timing.databaseCheckMs, () => this.checkDatabase());
  }

  /** Stops the loops and gives up the lease (this instance's replies have ended by now). */
  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.unsubscribeControl();
    await this.redis.del(replyKeys.lease(this.instanceId)).catch(() => {});
  }

  /**
   * Stops a reply that no generation of this process writes. Returns its record once ended
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
      if (current !== 'streaming') return this.savedRecord(messageId);
      if (!lease || Date.now() >= deadline) {
        return this.takeOver(messageId, reason === 'stopped' ? MessageStatus.STOPPED : null);
      }
      await new Promise((resolve) => setTimeout(resolve, STOP_POLL_MS));
    }
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
        palaverClaimReply(...args: string[]): Promise<[string, number] | null>;
      }
    ).palaverClaimReply(
      replyKeys.log(messageId),
      replyKeys.meta(messageId),
      replyKeys.streaming,
      messageId,
    )) as [string, number] | null;
    if (!claimed) return this.savedRecord(messageId);
    const [text, lastSeq] = claimed;
    const record = status
      ? await updateByIdIf(
          this.models.Message,
          messageId,
          { status: MessageStatus.STREAMING },
          // The log holds every delta sent to followers, more than the last partial save.
          { $set: { content: text, status } },
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

  private async heartbeat(): Promise<void> {
    await this.redis.set(replyKeys.lease(this.instanceId), '1', 'PX', this.timing.leaseMs);
    // Stops whose control message was lost (a subscriber reconnecting) are found here.
    const ids = this.generations.runningIds();
    if (ids.length === 0) return;
    // And replies swept while this process was stalled (SIGSTOP, a long pause) end here.
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.get(replyKeys.stop(id)).hget(replyKeys.meta(id), 'state');
    const answers = (await pipeline.exec()) ?? [];
    ids.forEach((id, index) => {
      const reason = answers[2 * index]?.[1] as string | null;
      const state = answers[2 * index + 1]?.[1] as string | null;
      if (reason) void this.generations.get(id)?.stop(reason as StopReason);
      else if (state === 'ended') void this.generations.get(id)?.stop('interrupted');
    });
  }

  private onControl(raw: string): void {
    try {
      const command = JSON.parse(raw) as StopCommand;
      void this.generations.get(command.messageId)?.stop(command.reason);
    } catch (error) {
      this.logger.warn({ err: error }, 'an unreadable control message was ignored');
    }
  }

  /** Replies streaming on an instance whose lease is gone are ended INTERRUPTED. */
  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      // Two round trips per sweep however many replies stream elsewhere: their owners, then
      // whether each distinct owner still holds its lease.
      const ids = (await this.redis.smembers(replyKeys.streaming)).filter(
        (messageId) => !this.generations.get(messageId),
      );
      if (ids.length === 0) return;
      const owners = await this.answers(ids.map((id) => ['hget', replyKeys.meta(id), 'owner']));
      const others = [
        ...new Set(owners.filter((owner): owner is string => !!owner && owner !== this.instanceId)),
      ];
      const leases = await this.answers(others.map((owner) => ['exists', replyKeys.lease(owner)]));
      const alive = new Set(
        others.filter((owner, index) => this.stillAlive(owner, leases[index] === 1)),
      );
      // Owners with nothing streaming any more (gone for good, or back) are forgotten.
      for (const owner of this.leaseMissingSince.keys()) {
        if (!others.includes(owner)) this.leaseMissingSince.delete(owner);
      }
      for (const [index, messageId] of ids.entries()) {
        const owner = owners[index] as string | null;
        if (owner && alive.has(owner)) continue;
        await this.takeOver(messageId, MessageStatus.INTERRUPTED);
      }
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * An owner is taken for dead only once its lease has been missing for a heartbeat: Redis can
   * lose a live instance's lease (a flush, a failover to a replica that had not got it), and
   * the owner sets it again on its next heartbeat. A dead owner's replies are taken over a
   * heartbeat later than its lease lapses (5 + 1.5 s by default, plus up to one sweep).
   */
  private stillAlive(owner: string, leaseHeld: boolean): boolean {
    if (leaseHeld) {
      this.leaseMissingSince.delete(owner);
      return true;
    }
    const since = this.leaseMissingSince.get(owner) ?? Date.now();
    this.leaseMissingSince.set(owner, since);
    return Date.now() - since < this.timing.heartbeatMs;
  }

  /**
   * A STREAMING reply that no instance's meta names, seen so at two checks in a row (a reply
   * just created has its meta written within milliseconds), can never finish: INTERRUPTED.
   */
  private async checkDatabase(): Promise<void> {
    const streaming = await this.models.Message.find(
      { status: MessageStatus.STREAMING },
      { _id: 1 },
    ).lean();
    const candidates = streaming
      .map(({ _id }) => String(_id))
      .filter((messageId) => !this.generations.get(messageId));
    const known = await this.answers(candidates.map((id) => ['exists', replyKeys.meta(id)]));
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

  /** Sends `commands` in one pipeline and returns their answers (a failed one throws). */
  private async answers(commands: Array<[string, ...string[]]>): Promise<unknown[]> {
    if (commands.length === 0) return [];
    const results = (await this.redis.pipeline(commands).exec()) ?? [];
    return results.map(([error, value]) => {
      if (error) throw error;
      return value;
    });
  }

  private savedRecord(messageId: string): Promise<MessageRecord | null> {
    return this.models.Message.findById(messageId).lean();
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
