import type { ReturnModelType } from '@typegoose/typegoose';
import { op } from '../db/trusted';
import type { Logger } from '../log/logger';
import { MailDeliveryError, type DeliveryFailure, type Mailer, type MailMessage } from './mailer';
import { OutboxMailState, type OutboxMailRecord } from './outbox-mail.model';
import type { BodySealer } from './sealed-body';
import { retryDelayMs } from './retry-schedule';

export interface OutboxTuning {
  /** The wait before the second attempt; each next wait doubles, up to `maxRetryMs`. */
  firstRetryMs: number;
  maxRetryMs: number;
  /** A mail still refused this long after it was queued is given up on. */
  giveUpAfterMs: number;
  /** How often the outbox looks for due mail it was not told about (other instances, restarts). */
  pollMs: number;
  /** An attempt claimed longer ago than this belongs to an instance that died. */
  staleAttemptMs: number;
  /** Mails sent at once by one instance. */
  concurrency: number;
}

export const DEFAULT_OUTBOX_TUNING: OutboxTuning = {
  firstRetryMs: 2_000,
  maxRetryMs: 60 * 60_000,
  giveUpAfterMs: 24 * 60 * 60_000,
  pollMs: 5_000,
  // Well above the longest attempt the SMTP mailer allows (its overall deadline).
  staleAttemptMs: 5 * 60_000,
  concurrency: 4,
};

export type OutboxModel = ReturnModelType<typeof OutboxMailRecord>;
type ClaimedMail = Pick<
  OutboxMailRecord,
  '_id' | 'to' | 'subject' | 'sealedBody' | 'attempts' | 'claimedAt' | 'createdAt' | 'giveUpAt'
>;

/**
 * A durable outbox. A mutation never waits for SMTP (so known and unknown addresses answer in
 * the same time): the mail is composed and stored in the database in the background, then sent
 * by whichever instance claims it first. Refused or unreachable, it is tried again with
 * backoff (seconds at first, up to an hour) for a day; a restart loses nothing that was
 * stored. Each mail is sent at most once: the attempt is recorded before the message flows,
 * and an attempt whose outcome is unknown counts as sent.
 */
export class MailOutbox {
  private readonly composing = new Set<Promise<void>>();
  private readonly workers = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private poller: NodeJS.Timeout | null = null;
  private closed = false;
  /** The database was unreachable at the last look (logged once per outage, not per poll). */
  private unreachable = false;

  constructor(
    private readonly model: OutboxModel,
    private readonly mailer: Mailer,
    private readonly sealer: BodySealer,
    private readonly logger: Logger,
    private readonly tuning: OutboxTuning = DEFAULT_OUTBOX_TUNING,
  ) {}

  /** Starts looking for due mail: what an earlier process or another instance left. */
  start(): void {
    if (this.poller || this.closed) return;
    this.poller = setInterval(() => this.poll(), this.tuning.pollMs);
    this.poller.unref();
    this.poll();
  }

  /** Runs `job` (which may look things up, then returns the mail or null) in the background. */
  enqueue(job: () => Promise<MailMessage | null>): void {
    const task = (async () => {
      try {
        const message = await job();
        if (!message) return;
        await this.store(message);
        this.startWorker();
      } catch (error) {
        this.logger.error({ err: error }, 'a mail could not be queued; the user can ask again');
      }
    })();
    this.composing.add(task);
    void task.finally(() => this.composing.delete(task));
  }

  /**
   * Resolves once every queued job is stored and every mail due now has had its attempt
   * (tests and shutdown); mails waiting for a retry stay queued.
   */
  async drain(): Promise<void> {
    while (this.composing.size > 0) await Promise.all([...this.composing]);
    if (!this.closed) this.startWorker();
    while (this.workers.size > 0) await Promise.all([...this.workers]);
  }

  /** Stops claiming, lets attempts under way finish, and keeps the rest stored for later. */
  async close(): Promise<void> {
    while (this.composing.size > 0) await Promise.all([...this.composing]);
    this.closed = true;
    if (this.poller) clearInterval(this.poller);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    while (this.workers.size > 0) await Promise.all([...this.workers]);
    await this.mailer.close();
  }

  private async store(message: MailMessage): Promise<void> {
    const now = new Date();
    await this.model.create({
      to: message.to,
      subject: message.subject,
      sealedBody: this.sealer.seal({ text: message.text, html: message.html }),
      state: OutboxMailState.PENDING,
      attempts: 0,
      nextAttemptAt: now,
      createdAt: now,
      giveUpAt: new Date(now.getTime() + this.tuning.giveUpAfterMs),
    });
  }

  private poll(): void {
    if (this.closed) return;
    void this.recoverStaleAttempts()
      .then(() => this.reachable())
      .catch((error) => this.unreachableNow(error));
    for (let i = this.workers.size; i < this.tuning.concurrency; i++) this.startWorker();
  }

  /** One worker claims and sends due mails one after another until none is due. */
  private startWorker(): void {
    if (this.closed || this.workers.size >= this.tuning.concurrency) return;
    const worker = (async () => {
      try {
        for (;;) {
          if (this.closed) return;
          const mail = await this.claimDue();
          this.reachable();
          if (!mail) return;
          await this.attempt(mail);
        }
      } catch (error) {
        // The poll starts a worker again once the database answers.
        this.unreachableNow(error);
      }
    })();
    this.workers.add(worker);
    void worker.finally(() => this.workers.delete(worker));
  }

  private async claimDue(): Promise<ClaimedMail | null> {
    const now = new Date();
    return this.model
      .findOneAndUpdate(
        { state: OutboxMailState.PENDING, nextAttemptAt: op({ $lte: now }) },
        {
          $set: { state: OutboxMailState.SENDING, claimedAt: now, messageStartedAt: null },
          $inc: { attempts: 1 },
        },
        { sort: { nextAttemptAt: 1 }, returnDocument: 'after' },
      )
      .lean<ClaimedMail>();
  }

  private async attempt(mail: ClaimedMail): Promise<void> {
    const claim = { _id: mail._id, state: OutboxMailState.SENDING, claimedAt: mail.claimedAt };
    let body;
    try {
      body = this.sealer.open(mail.sealedBody);
    } catch {
      this.logger.error(
        { mail: this.describe(mail) },
        'a queued mail cannot be opened (was SECRET_KEY changed?); it is dropped',
      );
      await this.model.deleteOne(claim);
      return;
    }
    try {
      await this.mailer.send(
        { to: mail.to, subject: mail.subject, ...body },
        {
          beforeMessage: async () => {
            const marked = await this.model.updateOne(claim, {
              $set: { messageStartedAt: new Date() },
            });
            if (marked.matchedCount !== 1) throw new Error('the attempt is no longer ours');
          },
        },
      );
      await this.model.deleteOne(claim);
    } catch (error) {
      const failure: DeliveryFailure = error instanceof MailDeliveryError ? error.failure : 'retry';
      const reason = error instanceof MailDeliveryError ? error.reason : String(error);
      await this.afterFailure(mail, claim, failure, reason);
    }
  }

  private async afterFailure(
    mail: ClaimedMail,
    claim: object,
    failure: DeliveryFailure,
    reason: string,
  ): Promise<void> {
    const described = { mail: this.describe(mail), reason };
    if (failure === 'unknown') {
      this.logger.warn(described, 'a mail attempt broke off after sending; counted as sent');
      await this.model.deleteOne(claim);
      return;
    }
    const delay = retryDelayMs(mail.attempts, this.tuning);
    const next = new Date(Date.now() + delay);
    if (failure === 'rejected' || next >= mail.giveUpAt) {
      this.logger.error(described, 'a mail could not be delivered and is given up on');
      await this.model.deleteOne(claim);
      return;
    }
    this.logger.warn({ ...described, retryInMs: delay }, 'a mail was not accepted; will retry');
    await this.model.updateOne(claim, {
      $set: {
        state: OutboxMailState.PENDING,
        nextAttemptAt: next,
        claimedAt: null,
        lastError: reason.slice(0, 500),
      },
    });
    if (delay < this.tuning.pollMs) this.wakeIn(delay);
  }

  /**
   * An attempt claimed long ago belongs to an instance that died. Before its message started to
   * flow nothing was sent: it goes back to the queue. After, it may have arrived: dropped.
   */
  private async recoverStaleAttempts(): Promise<void> {
    const cutoff = new Date(Date.now() - this.tuning.staleAttemptMs);
    const stale = await this.model
      .find({ state: OutboxMailState.SENDING, claimedAt: op({ $lt: cutoff }) })
      .select({ sealedBody: 0 })
      .lean<Array<ClaimedMail & { messageStartedAt: Date | null }>>();
    for (const mail of stale) {
      const claim = { _id: mail._id, state: OutboxMailState.SENDING, claimedAt: mail.claimedAt };
      if (mail.messageStartedAt) {
        this.logger.warn(
          { mail: this.describe(mail) },
          'a mail attempt of a stopped instance had started sending; counted as sent',
        );
        await this.model.deleteOne(claim);
      } else {
        await this.model.updateOne(claim, {
          $set: { state: OutboxMailState.PENDING, nextAttemptAt: new Date(), claimedAt: null },
        });
      }
    }
  }

  private wakeIn(delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.startWorker();
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  private reachable(): void {
    if (!this.unreachable) return;
    this.unreachable = false;
    this.logger.info('the mail outbox reaches the database again');
  }

  private unreachableNow(error: unknown): void {
    if (this.unreachable) return;
    this.unreachable = true;
    this.logger.warn({ err: error }, 'the mail outbox cannot reach the database; it keeps trying');
  }

  /** What a log line says of a mail: never its body (it holds single-use links). */
  private describe(mail: Pick<ClaimedMail, '_id' | 'to' | 'subject' | 'attempts'>) {
    return { id: String(mail._id), to: mail.to, subject: mail.subject, attempts: mail.attempts };
  }
}
