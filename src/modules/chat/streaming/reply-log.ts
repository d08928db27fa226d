import type { MessageRecord } from '../message.model';
import type { ReplyDelta, ReplyEnd, ReplyEvent, ToolCallState } from './reply-event';

/** Gets every event appended after it was registered, the done event last. */
export type ReplyLogListener = (event: ReplyEvent) => void;

export interface ReplyLogRead {
  /** The deltas after the seq asked for, in order. */
  deltas: readonly ReplyDelta[];
  /** The end, once the reply has ended; its `message` is null when the chat was deleted. */
  done: ReplyEnd | null;
}

/**
 * The replay log of one assistant reply: the seam between the one writer (Reply) and its
 * followers (ReplyFollower, one per messageStream subscription). Each event (a ReplyEvent) is
 * built once, by append or finish, and the same object goes to every follower and every replay. Today's
 * implementation lives in this process (InProcessReplyLogs); a cluster's would keep the log
 * where every instance can read and listen to it.
 *
 * A follower listens first and reads second, then drops by seq what it got twice: that order
 * loses nothing whether `read` answers at once or after a round trip.
 */
export interface ReplyLog {
  readonly messageId: string;
  /** The owner. */
  readonly userId: string;
  /**
   * Whether `userId` is this process's own knowledge (the log is written here): a follower
   * proven to be them needs no database read. A log read from Redis says who owns it, but
   * anyone who can write to Redis could say so: its followers are proven by the database.
   */
  readonly ownerKnown: boolean;
  /**
   * Only the writer's instance can end this reply (one process, no cluster): nothing else ends
   * it meanwhile, so its final save needs no condition (one command fewer on the local database).
   */
  readonly exclusive: boolean;
  /** Adds a delta of answer text (writer only). */
  append(text: string): void;
  /** Adds a delta of reasoning (writer only). */
  appendReasoning(text: string): void;
  /** Adds a tool call's new state (writer only). */
  appendToolCall(state: ToolCallState): void;
  /** Ends the log with the saved record, null when the chat was deleted meanwhile (writer only). */
  finish(record: MessageRecord | null): void;
  /** The deltas after `afterSeq`, and the done event if the reply has ended. */
  read(afterSeq: number): Promise<ReplyLogRead>;
  /** Registers `listener` for the events appended from now on; returns its removal. */
  listen(listener: ReplyLogListener): () => void;
}

/** The logs of the replies that are streaming, or ended a short while ago, by message id. */
export interface ReplyLogs {
  open(messageId: string, userId: string): ReplyLog;
  find(messageId: string): Promise<ReplyLog | undefined>;
  /** Keeps an ended log a while for late followers, then forgets it. */
  retire(log: ReplyLog): void;
  /**
   * Of these replies (open here), those this instance may still write: in a cluster, one that
   * another instance took over (its owner looked dead) is no longer ours, not even its partial
   * saves.
   */
  stillOwned(messageIds: string[]): Promise<Set<string>>;
  /** Waits until what was appended is where other instances can read it (shutdown). */
  flush(): Promise<void>;
  close(): void;
}
