import type { MessageRecord } from '../message.model';

/**
 * What a reply's pipeline hands on, from its log to every follower: a delta of text, or the
 * end. The pipeline's own plain data, so that the logs, the followers and the cluster code know
 * nothing of GraphQL (issue 30). Every token of a streamed reply is one delta, so a delta is
 * built with exactly the fields, in the order, that GraphQL's MessageStreamEvent reads: it
 * leaves for the socket as it is, with no mapping per token (chat-subscriptions.resolver.ts
 * checks at compile time that it fits). Only the end, which carries the saved record, is
 * mapped there (toMessageStreamEnd in chat.mappers.ts), once per follower.
 */
export interface ReplyDelta {
  readonly messageId: string;
  /** Order of the event, from 1: a follower resumes after the last one it saw. */
  readonly seq: number;
  /** New text. All deltas together are the reply's content. */
  readonly delta: string;
  readonly done: false;
  /** Always null on a delta: present so that a delta already has the shape GraphQL reads. */
  readonly message: null;
}

/** The last event of a reply; its seq follows the last delta's. */
export interface ReplyEnd {
  readonly messageId: string;
  readonly seq: number;
  readonly delta: '';
  readonly done: true;
  /** The saved reply; null when its chat was deleted meanwhile (or the message is gone). */
  readonly message: MessageRecord | null;
}

export type ReplyEvent = ReplyDelta | ReplyEnd;

export function replyDelta(messageId: string, seq: number, delta: string): ReplyDelta {
  return { messageId, seq, delta, done: false, message: null };
}

export function replyEnd(messageId: string, seq: number, message: MessageRecord | null): ReplyEnd {
  return { messageId, seq, delta: '', done: true, message };
}
