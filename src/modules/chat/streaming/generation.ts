import type { Logger } from '../../../log/logger';
import type { Models } from '../../../db/models';
import {
  LlmError,
  type LlmProvider,
  type PromptMessage,
  type TokenUsage,
} from '../../../llm/provider';
import { MessageStatus } from '../chat-enums';
import type { MessageRecord } from '../message.model';
import { Coalescer } from './coalescer';
import type { MessageStream } from './message-stream';

/** Why a generation ended early; `deleted` means there is nothing left to save. */
export type StopReason = 'stopped' | 'interrupted' | 'deleted';

export interface GenerationOptions {
  /** Deltas are joined over this window (0: one delta per token). */
  coalesceMs: number;
  /** Partial text is saved at most this often while streaming. */
  saveIntervalMs: number;
}

export const DEFAULT_GENERATION_OPTIONS: GenerationOptions = {
  coalesceMs: 30,
  saveIntervalMs: 1_000,
};

export interface GenerationRequest {
  messageId: string;
  chatId: string;
  userId: string;
  provider: LlmProvider;
  model: string;
  messages: PromptMessage[];
}

/**
 * One assistant reply being written. The database is never written per token: partial text
 * at most once per `saveIntervalMs`, and once at the end with the final status. Subscribers are
 * fed from the stream, so saving never depends on anyone listening.
 */
export class Generation {
  private readonly controller = new AbortController();
  private stopReason: StopReason | null = null;
  private content = '';
  private savedContent = '';
  private usage: TokenUsage | null = null;
  private saving: Promise<void> | null = null;
  readonly done: Promise<MessageRecord | null>;

  constructor(
    readonly request: GenerationRequest,
    private readonly stream: MessageStream,
    private readonly models: Models,
    private readonly options: GenerationOptions,
    private readonly logger: Logger,
  ) {
    this.done = this.run();
  }

  /** Ends the reply now: the upstream request is aborted at once, and the text so far is kept. */
  stop(reason: StopReason): Promise<MessageRecord | null> {
    this.stopReason ??= reason;
    this.controller.abort(new Error(`generation ${reason}`));
    return this.done;
  }

  private async run(): Promise<MessageRecord | null> {
    const coalescer = new Coalescer(this.options.coalesceMs, (text) => this.stream.append(text));
    const saver = setInterval(() => this.savePartial(), this.options.saveIntervalMs);
    let status = MessageStatus.COMPLETE;
    let error: string | null = null;
    try {
      for await (const event of this.request.provider.stream({
        model: this.request.model,
        messages: this.request.messages,
        signal: this.controller.signal,
      })) {
        if (event.type === 'delta') {
          this.content += event.text;
          coalescer.push(event.text);
        } else {
          this.usage = event.usage;
        }
      }
    } catch (caught) {
      if (this.stopReason) {
        status = this.stopReason === 'stopped' ? MessageStatus.STOPPED : MessageStatus.INTERRUPTED;
      } else {
        status = MessageStatus.FAILED;
        error = caught instanceof LlmError ? caught.message : 'The model failed unexpectedly.';
        if (!(caught instanceof LlmError)) this.logger.error({ err: caught }, 'generation failed');
      }
    } finally {
      clearInterval(saver);
      coalescer.flush();
      // The final save must not race a partial one that would overwrite the final status' text.
      await this.saving;
    }
    // A stop that raced the upstream's last chunk still counts as the user's stop.
    if (this.stopReason && status === MessageStatus.COMPLETE) {
      status = this.stopReason === 'stopped' ? MessageStatus.STOPPED : MessageStatus.INTERRUPTED;
    }
    const record = this.stopReason === 'deleted' ? null : await this.saveFinal(status, error);
    this.stream.finish(record);
    return record;
  }

  /**
   * At most one partial save in flight: when the database is slower than one write per stream
   * per second (FerretDB with many streams), saves are skipped rather than queued without end.
   */
  private savePartial(): void {
    if (this.saving || this.content === this.savedContent) return;
    this.saving = this.writePartial().finally(() => (this.saving = null));
  }

  private async writePartial(): Promise<void> {
    const content = this.content;
    try {
      await this.models.Message.updateOne(
        { _id: this.request.messageId, status: MessageStatus.STREAMING },
        { $set: { content } },
      );
      this.savedContent = content;
    } catch (error) {
      this.logger.warn({ err: error }, 'saving partial reply failed; the final save will carry it');
    }
  }

  private async saveFinal(
    status: MessageStatus,
    error: string | null,
  ): Promise<MessageRecord | null> {
    try {
      return await this.models.Message.findOneAndUpdate(
        { _id: this.request.messageId, status: MessageStatus.STREAMING },
        { $set: { content: this.content, status, error, usage: this.usage } },
        { returnDocument: 'after' },
      ).lean();
    } catch (caught) {
      this.logger.error(
        { err: caught, messageId: this.request.messageId },
        'saving the final reply failed',
      );
      return null;
    }
  }
}
