import type { Metrics } from '../../../metrics/metrics';
import type { MessageRecord } from '../message.model';
import {
  deltaOfEntry,
  replyDelta,
  replyEnd,
  type ReplyDelta,
  type ReplyEnd,
  type ToolCallState,
} from './reply-event';
import type { ReplyLog, ReplyLogListener, ReplyLogRead, ReplyLogs } from './reply-log';

/** How long an ended log stays for late followers before they read the database. */
export const ENDED_LOG_RETENTION_MS = 60_000;

/**
 * A reply's log kept in this process's memory: followers on other instances cannot see it.
 * It keeps the answer deltas' texts only (reasoning and tool calls, far fewer, as their events);
 * an event is built when someone listens (once, shared by every listener) or reads. Keeping an event object per token for the reply's life made each
 * token cost the garbage collector three objects to copy instead of one.
 */
class InProcessReplyLog implements ReplyLog {
  readonly exclusive = true;
  readonly ownerKnown = true;
  private readonly texts: Array<string | ReplyDelta> = [];
  private readonly listeners = new Set<ReplyLogListener>();
  private doneEvent: ReplyEnd | null = null;

  constructor(
    readonly messageId: string,
    readonly userId: string,
    private readonly metrics?: Metrics,
  ) {}

  append(text: string): void {
    this.texts.push(text);
    this.metrics?.deltas.inc();
    if (this.listeners.size === 0) return;
    const event = replyDelta(this.messageId, this.texts.length, text);
    for (const listener of this.listeners) listener(event);
  }

  appendReasoning(text: string): void {
    this.appendEvent(deltaOfEntry(this.messageId, this.texts.length + 1, 'r', text)!);
  }

  appendToolCall(state: ToolCallState): void {
    const seq = this.texts.length + 1;
    this.appendEvent({
      messageId: this.messageId,
      seq,
      delta: '',
      reasoningDelta: '',
      toolCall: state,
      done: false,
      message: null,
    });
  }

  private appendEvent(event: ReplyDelta): void {
    this.texts.push(event);
    this.metrics?.deltas.inc();
    for (const listener of this.listeners) listener(event);
  }

  finish(record: MessageRecord | null): void {
    if (this.doneEvent) return;
    const done = replyEnd(this.messageId, this.texts.length + 1, record);
    this.doneEvent = done;
    for (const listener of this.listeners) listener(done);
    this.listeners.clear();
  }

  read(afterSeq: number): Promise<ReplyLogRead> {
    const deltas: ReplyDelta[] = [];
    for (let seq = Math.max(0, afterSeq) + 1; seq <= this.texts.length; seq += 1) {
      const entry = this.texts[seq - 1]!;
      deltas.push(typeof entry === 'string' ? replyDelta(this.messageId, seq, entry) : entry);
    }
    return Promise.resolve({ deltas, done: this.doneEvent });
  }

  listen(listener: ReplyLogListener): () => void {
    if (!this.doneEvent) this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The reply logs of this process. */
export class InProcessReplyLogs implements ReplyLogs {
  private readonly logs = new Map<string, ReplyLog>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly metrics?: Metrics) {}

  open(messageId: string, userId: string): ReplyLog {
    const log = new InProcessReplyLog(messageId, userId, this.metrics);
    this.logs.set(messageId, log);
    return log;
  }

  find(messageId: string): Promise<ReplyLog | undefined> {
    return Promise.resolve(this.logs.get(messageId));
  }

  retire(log: ReplyLog): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.logs.get(log.messageId) === log) this.logs.delete(log.messageId);
    }, ENDED_LOG_RETENTION_MS);
    timer.unref();
    this.timers.add(timer);
  }

  stillOwned(messageIds: string[]): Promise<Set<string>> {
    return Promise.resolve(new Set(messageIds));
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.logs.clear();
  }
}
