import type { MessageRecord } from '../message.model';

export interface StreamDelta {
  seq: number;
  delta: string;
}

export type StreamListener = (event: { delta?: StreamDelta; final?: MessageRecord | null }) => void;

/**
 * The deltas of one assistant message while it streams, kept for replay: a subscriber that
 * arrives late, or comes back after a disconnect with `after`, gets everything it missed from
 * here, then the live deltas. Once the reply is saved, `final` holds the saved record.
 */
export class MessageStream {
  readonly deltas: StreamDelta[] = [];
  private readonly listeners = new Set<StreamListener>();
  private finalRecord: MessageRecord | null | undefined = undefined;

  constructor(
    readonly messageId: string,
    /** The owner: a subscriber proven to be them needs no database read. */
    readonly userId: string,
  ) {}

  get finished(): boolean {
    return this.finalRecord !== undefined;
  }

  get final(): MessageRecord | null | undefined {
    return this.finalRecord;
  }

  get lastSeq(): number {
    return this.deltas.length;
  }

  append(text: string): void {
    const delta = { seq: this.deltas.length + 1, delta: text };
    this.deltas.push(delta);
    for (const listener of this.listeners) listener({ delta });
  }

  /** The saved record (null when the chat was deleted meanwhile). */
  finish(record: MessageRecord | null): void {
    this.finalRecord = record;
    for (const listener of this.listeners) listener({ final: record });
    this.listeners.clear();
  }

  /**
   * Registers `listener` and returns the deltas after `afterSeq` that it would otherwise miss.
   * Both happen in one synchronous step, so no delta can fall between the replay and the live.
   */
  listen(
    listener: StreamListener,
    afterSeq: number,
  ): { replay: StreamDelta[]; unlisten: () => void } {
    if (!this.finished) this.listeners.add(listener);
    return {
      replay: this.deltas.slice(Math.max(0, afterSeq)),
      unlisten: () => this.listeners.delete(listener),
    };
  }
}

/** How long a finished stream stays for late subscribers before they read the database. */
export const FINISHED_STREAM_RETENTION_MS = 60_000;

/** The streams of this process, by assistant message id. */
export class StreamHub {
  private readonly streams = new Map<string, MessageStream>();
  private readonly timers = new Set<NodeJS.Timeout>();

  open(messageId: string, userId: string): MessageStream {
    const stream = new MessageStream(messageId, userId);
    this.streams.set(messageId, stream);
    return stream;
  }

  get(messageId: string): MessageStream | undefined {
    return this.streams.get(messageId);
  }

  /** Keeps a finished stream a while for replay, then forgets it. */
  retire(stream: MessageStream): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.streams.get(stream.messageId) === stream) this.streams.delete(stream.messageId);
    }, FINISHED_STREAM_RETENTION_MS);
    timer.unref();
    this.timers.add(timer);
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.streams.clear();
  }
}
