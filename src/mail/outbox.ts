import type { Logger } from '../log/logger';
import type { Mailer, MailMessage } from './mailer';

/**
 * Sends mail off the request path: a mutation never waits for SMTP (so known and unknown
 * addresses answer in the same time), and an SMTP failure is logged, never turned into a
 * failed mutation. Pending sends are awaited on shutdown.
 */
export class MailOutbox {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly mailer: Mailer,
    private readonly logger: Logger,
  ) {}

  /** Runs `job` (which may look things up and then send) in the background. */
  enqueue(job: () => Promise<MailMessage | null>): void {
    const task = (async () => {
      try {
        const message = await job();
        if (message) await this.mailer.send(message);
      } catch (error) {
        this.logger.error({ err: error }, 'a mail could not be sent; the user can ask again');
      }
    })();
    this.pending.add(task);
    void task.finally(() => this.pending.delete(task));
  }

  /** Resolves once every queued job has finished (tests and shutdown). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  async close(): Promise<void> {
    await this.drain();
    await this.mailer.close();
  }
}
