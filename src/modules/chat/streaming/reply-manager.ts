import type { Logger } from '../../../log/logger';
import type { MessageRecord, MessageModel } from '../message.model';
import { Reply, type ReplyOptions, type StopReason } from './reply';
import type { ReplyRequest } from './reply-steps';
import { LoadGauge } from './load-gauge';
import { PartialSaves } from './partial-saves';
import type { ReplyLogs } from './reply-log';
import type { ReplySlot, ReplySlots } from './reply-slots';
import { ReplyTelemetry } from '../../../telemetry/reply-telemetry';

/** How often shutdown looks whether the sends it accepted have started their replies. */
const ACCEPTED_SEND_POLL_MS = 10;

/** A user's reply slot taken by an accepted send; the reply holds it once started. */
export interface PendingSlot {
  /** Gives the slot back unless a reply holds it (safe to call more than once). */
  release(): void;
}

interface HeldSlot extends PendingSlot {
  slot: ReplySlot;
  started: boolean;
}

/**
 * The replies this process is writing. It owns them: stop one (stopGeneration, deleteChat),
 * count a user's, and on shutdown give them a grace period before saving them INTERRUPTED.
 */
export class ReplyManager {
  private readonly running = new Map<string, Reply>();
  /** Slots of sends that are accepted but not yet generating. */
  private readonly pending = new Set<HeldSlot>();
  /** False once shutdown began: new sends are refused before they save anything. */
  accepting = true;
  /** Aborted once the shutdown grace is over: saves that keep failing stop retrying. */
  private readonly retries = new AbortController();
  private readonly partials: PartialSaves;
  /** How busy this process is: replies coalesce their tokens only when it is (Coalescer). */
  private readonly load = new LoadGauge();

  constructor(
    private readonly models: { Message: MessageModel },
    private readonly logs: ReplyLogs,
    private readonly slots: ReplySlots,
    private readonly options: ReplyOptions,
    private readonly logger: Logger,
    private readonly onFinished: (record: MessageRecord | null, request: ReplyRequest) => void,
    private readonly telemetry = new ReplyTelemetry(),
  ) {
    this.partials = new PartialSaves(models, options.saveIntervalMs, logger, (ids) =>
      logs.stillOwned(ids),
    );
  }

  /** Starts the reply of an accepted send, which hands over its slot until the reply ends. */
  start(request: ReplyRequest, slot: PendingSlot): Reply {
    const held = slot as HeldSlot;
    held.started = true;
    this.pending.delete(held);
    // The reply's span is a child of the send's; its log (in a cluster, Redis) carries it.
    const watch = this.telemetry.start(request);
    const log = watch.within(() => this.logs.open(request.messageId, request.userId));
    const reply = new Reply(
      request,
      log,
      this.models,
      this.options,
      this.partials,
      this.logger,
      this.retries.signal,
      () => this.load.busyness(),
      watch,
    );
    this.running.set(request.messageId, reply);
    // start() never rejects; what runs after it is guarded too, so no rejection goes unhandled.
    watch
      .within(() => reply.start())
      .then((record) => {
        watch.end(record?.status ?? null);
        this.running.delete(request.messageId);
        held.slot.release();
        request.settle?.(reply.reportedUsage);
        this.logs.retire(log);
        this.onFinished(record, request);
      })
      .catch((error: unknown) => {
        this.running.delete(request.messageId);
        held.slot.release();
        request.settle?.(reply.reportedUsage);
        this.logger.error({ err: error, messageId: request.messageId }, 'ending a reply failed');
      });
    return reply;
  }

  runningIds(): string[] {
    return [...this.running.keys()];
  }

  get(messageId: string): Reply | undefined {
    return this.running.get(messageId);
  }

  /**
   * Takes one of the user's `max` reply slots for a send being accepted (atomically: of
   * concurrent sends only as many as there are free slots get one), held until its reply ends.
   * Null when none is free.
   */
  async takeSlot(userId: string, max: number): Promise<PendingSlot | null> {
    const slot = await this.slots.take(userId, max);
    if (!slot) return null;
    const held: HeldSlot = {
      slot,
      started: false,
      release: () => {
        if (held.started) return;
        this.pending.delete(held);
        slot.release();
      },
    };
    this.pending.add(held);
    return held;
  }

  activeFor(userId: string): number {
    let count = 0;
    for (const reply of this.running.values()) if (reply.request.userId === userId) count += 1;
    return count;
  }

  /**
   * Stops, without waiting, the replies of a chat that belong to `userId` (a reply knows its
   * owner, so nothing needs reading first); each ends as `stopChat` would end it.
   */
  signalChat(userId: string, chatId: string, reason: StopReason): void {
    for (const reply of this.running.values()) {
      if (reply.request.chatId === chatId && reply.request.userId === userId) {
        // Its end is awaited (and any failure logged) by stopChat and start().
        reply.stop(reason).catch(() => undefined);
      }
    }
  }

  /** Stops every reply of a chat (it is being deleted) and waits until they have ended. */
  async stopChat(chatId: string, reason: StopReason): Promise<void> {
    const stopping = [...this.running.values()]
      .filter((reply) => reply.request.chatId === chatId)
      .map((reply) => reply.stop(reason));
    await Promise.all(stopping);
  }

  /**
   * Refuses new sends at once, lets the sends already accepted start their replies, lets
   * replies finish for up to `graceMs` in all, then saves the rest INTERRUPTED. Only then do
   * partial saves stop, so no reply runs without them.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.accepting = false;
    const deadline = Date.now() + graceMs;
    while (this.pending.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, ACCEPTED_SEND_POLL_MS));
    }
    const all = () => Promise.all([...this.running.values()].map((reply) => reply.done));
    let timer: NodeJS.Timeout | undefined;
    const left = Math.max(0, deadline - Date.now());
    await Promise.race([all(), new Promise((resolve) => (timer = setTimeout(resolve, left)))]);
    clearTimeout(timer);
    this.retries.abort();
    await Promise.all([...this.running.values()].map((reply) => reply.stop('interrupted')));
    this.partials.close();
    this.load.close();
  }

  get size(): number {
    return this.running.size;
  }
}
