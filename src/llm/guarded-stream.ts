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
  /** `midStream`: the response had begun (a lost connection then cut the reply short). */
  toLlmError(error: unknown, midStream: boolean): LlmError;
  /** How long a refusal asks to be waited for (its retry-after), when it says. */
  retryAfterMs?(error: unknown): number | undefined;
}

const RETRY_BACKOFF_MS = 300;

/**
 * Streams an SDK's async iterable of events into `handle`, under our guards: a first-byte
 * deadline, an idle timer between events, and the caller's signal, which aborts the upstream
 * at once. A failure before anything reached the reply (`delivered` still false: refused,
 * timed out, or dropped or erroring before the first piece, as an overloaded upstream does) is
 * tried again, up to `retriesBeforeFirstToken` times; after that, never, since a retry would
 * send the reply twice. The SDKs' own retries stay off, and some SDK loops end quietly when
 * their signal aborts: the signal, not the loop, says whether the reply was stopped.
 */
export async function guardedStream<Event>(
  signal: AbortSignal,
  guards: StreamGuards,
  reading: FailureReading,
  open: (signal: AbortSignal) => Promise<AsyncIterable<Event>>,
  handle: (event: Event) => void,
  delivered: () => boolean,
): Promise<void> {
  const idleError = () =>
    new LlmError(`The model sent nothing for ${guards.idleTimeoutMs / 1000} s.`);
  let refusal: unknown;
  for (let attempt = 0; ; attempt += 1) {
    signal.throwIfAborted();
    const upstream = new AbortController();
    const forward = () => upstream.abort(signal.reason);
    signal.addEventListener('abort', forward, { once: true });
    const firstByte = new Deadline(upstream.signal, guards.firstByteTimeoutMs);
    let idled = false;
    let opened = false;
    try {
      const events = await open(firstByte.signal);
      opened = true;
      // From here the idle timer watches the stream; the signal still follows stop and delete.
      firstByte.disarm();
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
      return;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      refusal = error;
      const timedOut = !opened && firstByte.timedOut;
      const retryable = timedOut || (!idled && reading.isRetryable(error));
      if (delivered() || attempt >= guards.retriesBeforeFirstToken || !retryable) {
        if (idled) throw idleError();
        if (timedOut) throw new LlmError('The model did not answer in time.');
        throw reading.toLlmError(error, opened);
      }
    } finally {
      firstByte.dispose();
      signal.removeEventListener('abort', forward);
      // Closes the connection if the loop left early (a sink that threw); harmless after the end.
      upstream.abort(new Error('reply stream closed'));
    }
    const asked = reading.retryAfterMs?.(refusal);
    const refused = tooLongToWait(asked, guards);
    if (refused) throw refused;
    const wait = asked ?? RETRY_BACKOFF_MS * 2 ** attempt;
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/**
 * How long response headers ask a retry to wait: `retry-after-ms`, else `retry-after` in
 * seconds or as a date (RFC 9110); undefined when they say nothing usable.
 */
export function retryAfterOf(headers: Headers | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  const after = headers.get('retry-after');
  const wait =
    Number.isFinite(ms) && ms > 0
      ? ms
      : after && Number.isFinite(Number(after))
        ? Number(after) * 1000
        : after
          ? Date.parse(after) - Date.now()
          : NaN;
  return Number.isFinite(wait) && wait >= 0 ? wait : undefined;
}

/**
 * A retry-after longer than the first-byte deadline is not waited out (the user would watch a
 * reply that shows nothing): the reply fails at once, saying when to try again.
 */
export function tooLongToWait(waitMs: number | undefined, guards: StreamGuards): LlmError | null {
  if (waitMs === undefined || waitMs <= guards.firstByteTimeoutMs) return null;
  const seconds = Math.ceil(waitMs / 1000);
  return new LlmError(
    `The model is unavailable (rate limited upstream); try again in ${seconds >= 120 ? `${Math.ceil(seconds / 60)} min` : `${seconds} s`}.`,
  );
}

/** A connection that failed or dropped, as fetch reports it (the SDKs pass it on as is). */
export function isNetworkFailure(error: unknown): boolean {
  return (
    error instanceof TypeError &&
    (error.message === 'terminated' || error.message === 'fetch failed')
  );
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
