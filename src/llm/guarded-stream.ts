import { Deadline } from './deadline';
import { IdleTimer } from './idle-timer';
import { LlmError } from './model-client';

/** The timeouts and retries every model client keeps, whatever its SDK's own. */
export interface StreamGuards {
  /** Until the response headers arrive (connect + the model starting to answer). */
  firstByteTimeoutMs: number;
  /** Between two events of a streaming reply. */
  idleTimeoutMs: number;
  /** Attempts after the first, only before anything streamed (a reply is never sent twice). */
  retriesBeforeFirstToken: number;
}

/** How an SDK's failures read: whether worth another try, and what the user may be told. */
export interface FailureReading {
  isRetryable(error: unknown): boolean;
  toLlmError(error: unknown): LlmError;
}

const RETRY_BACKOFF_MS = 300;

/**
 * Streams an SDK's async iterable of events into `handle`, under our guards: a first-byte
 * deadline with retries before anything streamed, an idle timer between events, and the
 * caller's signal, which aborts the upstream at once. The SDKs' own retries stay off (after
 * the first event a retry would send the reply twice), and some SDK loops end quietly when
 * their signal aborts: the signal, not the loop, says whether the reply was stopped.
 */
export async function guardedStream<Event>(
  signal: AbortSignal,
  guards: StreamGuards,
  reading: FailureReading,
  open: (signal: AbortSignal) => Promise<AsyncIterable<Event>>,
  handle: (event: Event) => void,
): Promise<void> {
  signal.throwIfAborted();
  const upstream = new AbortController();
  const forward = () => upstream.abort(signal.reason);
  signal.addEventListener('abort', forward, { once: true });
  let idled = false;
  const idleError = () =>
    new LlmError(`The model sent nothing for ${guards.idleTimeoutMs / 1000} s.`);
  try {
    const events = await openWithRetries(upstream.signal, guards, reading, open);
    const idle = new IdleTimer(guards.idleTimeoutMs, () => {
      idled = true;
      upstream.abort(idleError());
    });
    try {
      for await (const event of events) {
        idle.reset();
        handle(event);
      }
    } finally {
      idle.clear();
    }
    signal.throwIfAborted();
    if (idled) throw idleError();
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (idled) throw idleError();
    throw reading.toLlmError(error);
  } finally {
    signal.removeEventListener('abort', forward);
    // Closes the connection if the loop left early (a sink that threw); harmless after the end.
    upstream.abort(new Error('reply stream closed'));
  }
}

async function openWithRetries<Event>(
  signal: AbortSignal,
  guards: StreamGuards,
  reading: FailureReading,
  open: (signal: AbortSignal) => Promise<AsyncIterable<Event>>,
): Promise<AsyncIterable<Event>> {
  for (let attempt = 0; ; attempt += 1) {
    const firstByte = new Deadline(signal, guards.firstByteTimeoutMs);
    try {
      const events = await open(firstByte.signal);
      // From here the idle timer watches the stream; the signal still follows stop and delete.
      firstByte.disarm();
      return events;
    } catch (error) {
      firstByte.dispose();
      if (signal.aborted) throw error;
      const retryable = firstByte.timedOut || reading.isRetryable(error);
      if (attempt >= guards.retriesBeforeFirstToken || !retryable) {
        throw firstByte.timedOut
          ? new LlmError('The model did not answer in time.')
          : reading.toLlmError(error);
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_BACKOFF_MS * 2 ** attempt));
    }
  }
}

/** Says what an HTTP refusal means without leaking keys or upstream internals. */
export function refusalOf(status: number | undefined): LlmError | null {
  if (status === undefined) return null;
  if (status === 401 || status === 403)
    return new LlmError('The model refused the server credentials.');
  if (status === 404) return new LlmError('The model is not available upstream.');
  if (status === 429) return new LlmError('The model is rate limited; try again shortly.');
  return new LlmError(`The model failed (HTTP ${status}).`);
}
