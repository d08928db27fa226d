import type { Redis } from 'ioredis';
import { MessageStatus } from '../../chat-enums';
import type { ReplyManager } from '../reply-manager';
import { pipelineAnswers } from './redis-answers';
import { replyKeys } from './redis-reply-keys';
import type { ReplyTakeover } from './reply-takeover';

/**
 * Replies streaming on an instance whose lease is gone are ended INTERRUPTED: every instance
 * sweeps, and the claim lets exactly one of them take each reply over (ReplyTakeover).
 */
export class DeadOwnerSweep {
  private sweeping = false;
  /** When this instance first saw each owner's lease missing (cleared once seen again). */
  private readonly leaseMissingSince = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly instanceId: string,
    /** The replies written here: never swept by their own instance. */
    private readonly replies: ReplyManager,
    private readonly takeover: ReplyTakeover,
    private readonly heartbeatMs: number,
  ) {}

  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      // Two round trips per sweep however many replies stream elsewhere: their owners, then
      // whether each distinct owner still holds its lease.
      const ids = (await this.redis.smembers(replyKeys.streaming)).filter(
        (messageId) => !this.replies.get(messageId),
      );
      if (ids.length === 0) return;
      const owners = await pipelineAnswers(
        this.redis,
        ids.map((id) => ['hget', replyKeys.meta(id), 'owner']),
      );
      const others = [
        ...new Set(owners.filter((owner): owner is string => !!owner && owner !== this.instanceId)),
      ];
      const leases = await pipelineAnswers(
        this.redis,
        others.map((owner) => ['exists', replyKeys.lease(owner)]),
      );
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
        await this.takeover.takeOver(messageId, MessageStatus.INTERRUPTED);
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
    return Date.now() - since < this.heartbeatMs;
  }
}
