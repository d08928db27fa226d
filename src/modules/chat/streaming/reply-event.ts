import type { MessageRecord } from '../message.model';
import type { ToolCallStatus } from '../chat-enums';

/**
 * What a reply's pipeline hands on, from its log to every follower: a delta (answer text,
 * reasoning, or a change of a tool call), or the end. The pipeline's own plain data, so that
 * the logs, the followers and the cluster code know nothing of GraphQL (issue 30). Every token
 * of a streamed reply is one delta, so a delta is built with exactly the fields, in the order,
 * that GraphQL's MessageStreamEvent reads: it leaves for the socket as it is, with no mapping
 * per token (chat-subscriptions.resolver.ts checks at compile time that it fits). Only the end,
 * which carries the saved record, is mapped there (toMessageStreamEnd in chat.mappers.ts),
 * once per follower.
 */
export interface ReplyDelta {
  readonly messageId: string;
  /** Order of the event, from 1: a follower resumes after the last one it saw. */
  readonly seq: number;
  /** New answer text ('' on other deltas). All together are the reply's content. */
  readonly delta: string;
  /** New reasoning ('' on other deltas). All together are the reply's reasoning. */
  readonly reasoningDelta: string;
  /** A tool call as it is now, on the delta that changed it. */
  readonly toolCall: ToolCallState | null;
  readonly done: false;
  /** Always null on a delta: present so that a delta already has the shape GraphQL reads. */
  readonly message: null;
}

/** A tool call of a reply, as its events and its saved part show it. */
export interface ToolCallState {
  readonly id: string;
  readonly name: string;
  readonly arguments: Record<string, unknown>;
  readonly status: ToolCallStatus;
  readonly result: string | null;
  readonly error: string | null;
}

/** The last event of a reply; its seq follows the last delta's. */
export interface ReplyEnd {
  readonly messageId: string;
  readonly seq: number;
  readonly delta: '';
  readonly reasoningDelta: '';
  readonly toolCall: null;
  readonly done: true;
  /** The saved reply; null when its chat was deleted meanwhile (or the message is gone). */
  readonly message: MessageRecord | null;
}

export type ReplyEvent = ReplyDelta | ReplyEnd;

export function replyDelta(messageId: string, seq: number, delta: string): ReplyDelta {
  return { messageId, seq, delta, reasoningDelta: '', toolCall: null, done: false, message: null };
}

export function replyEnd(messageId: string, seq: number, message: MessageRecord | null): ReplyEnd {
  return {
    messageId,
    seq,
    delta: '',
    reasoningDelta: '',
    toolCall: null,
    done: true,
    message,
  };
}

/**
 * How a log keeps a delta: its kind and one string. 'd' answer text (the common case, kept as
 * the bare string in memory), 'r' reasoning, 't' a tool call's state as JSON.
 */
export type EntryKind = 'd' | 'r' | 't';

export function entryOf(delta: ReplyDelta): [EntryKind, string] {
  if (delta.toolCall) return ['t', JSON.stringify(delta.toolCall)];
  if (delta.reasoningDelta !== '') return ['r', delta.reasoningDelta];
  return ['d', delta.delta];
}

/** The delta a log entry stands for; null for an entry it cannot read (skipped, not fatal). */
export function deltaOfEntry(
  messageId: string,
  seq: number,
  kind: string | undefined,
  payload: string,
): ReplyDelta | null {
  if (kind === undefined || kind === 'd') return replyDelta(messageId, seq, payload);
  if (kind === 'r') {
    return {
      messageId,
      seq,
      delta: '',
      reasoningDelta: payload,
      toolCall: null,
      done: false,
      message: null,
    };
  }
  if (kind === 't') {
    try {
      const toolCall = JSON.parse(payload) as ToolCallState;
      return {
        messageId,
        seq,
        delta: '',
        reasoningDelta: '',
        toolCall,
        done: false,
        message: null,
      };
    } catch {
      return null;
    }
  }
  return null;
}
