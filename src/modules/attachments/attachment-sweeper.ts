import { op } from '../../db/trusted';
import type { Logger } from '../../log/logger';
import { AttachmentStatus, type AttachmentModel } from './attachment.model';
import type { AttachmentRemoval } from './attachment-removal';

export interface SweepTiming {
  /** How often the sweeper looks. */
  everyMs: number;
  /** An upload no prompt carried is removed this long after it was made. */
  unsentTtlMs: number;
  /** An upload whose bytes never finished arriving (its server died) is removed after this. */
  stalledUploadMs: number;
}

export const DEFAULT_SWEEP_TIMING: SweepTiming = {
  everyMs: 10 * 60_000,
  unsentTtlMs: 24 * 3600_000,
  stalledUploadMs: 3600_000,
};

/**
 * Removes what no one will use (FerretDB has no TTL indexes, and bytes must go with their
 * record anyway): tickets past their expiry, uploads that never finished, and attachments that
 * no prompt carried within a day.
 */
export class AttachmentSweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly models: { Attachment: AttachmentModel },
    private readonly removal: AttachmentRemoval,
    private readonly timing: SweepTiming,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.timing.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass; a pass already running is joined, not doubled. */
  sweep(): Promise<void> {
    this.running ??= this.pass()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'attachment sweep failed'))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async pass(): Promise<void> {
    const now = Date.now();
    const rules = [
      {
        filter: { status: AttachmentStatus.PENDING, ticketExpiresAt: op({ $lt: new Date(now) }) },
        expected: { status: AttachmentStatus.PENDING },
      },
      {
        filter: {
          status: AttachmentStatus.UPLOADING,
          updatedAt: op({ $lt: new Date(now - this.timing.stalledUploadMs) }),
        },
        expected: { status: AttachmentStatus.UPLOADING },
      },
      {
        filter: {
          status: AttachmentStatus.STORED,
          chatId: null,
          createdAt: op({ $lt: new Date(now - this.timing.unsentTtlMs) }),
        },
        expected: { status: AttachmentStatus.STORED, chatId: null },
      },
    ];
    let removed = 0;
    for (const { filter, expected } of rules) {
      for (const record of await this.models.Attachment.find(filter).lean()) {
        if (await this.removal.remove(record, expected)) removed++;
      }
    }
    if (removed > 0) this.logger.info({ removed }, 'unused attachments removed');
  }
}
