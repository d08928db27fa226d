/** What one script call carries for one reply, and what its live channel publishes as is. */
export interface ReplyBatch {
  /** The message id. */
  id: string;
  /** Owner's epoch for this reply: a stalled owner's later writes do not match a new one. */
  e: string;
  /** The user, on the batches that may create the reply's meta (those with `o`). */
  u?: string;
  /** The reply's span as a W3C `traceparent`, beside `u`: followers elsewhere link to it. */
  tp?: string;
  /** Set until a batch of this reply has been written: create the meta if it is missing. */
  o?: 1;
  /** Deltas as [seq, text] (answer text), or [seq, payload, kind] (reply-event.ts's EntryKind). */
  d: Array<[number, string] | [number, string, 'r' | 't']>;
  /** The end entry's seq, when the reply ended in this batch. */
  x?: number;
  /** 1 when the reply ended with its chat deleted (the done event carries no message). */
  del?: 1;
}

/** Separates the batches of one write call: JSON.stringify never emits a raw newline. */
export const BATCH_SEPARATOR = '\n';

/** A batch as published, parsed (Lua's cjson encodes an empty list as an object). */
export function parseBatch(raw: string): ReplyBatch | null {
  try {
    const batch = JSON.parse(raw) as ReplyBatch;
    if (!Array.isArray(batch.d)) batch.d = [];
    return batch;
  } catch {
    return null;
  }
}
