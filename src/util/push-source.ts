/**
 * The push contract's type: what a subscription's event source provides so that the WebSocket
 * gateway writes its events in the turn they are pushed. The contract, who writes each event
 * and what happens to slow readers are stated once, in server/ws/README.md.
 *
 * Declared here, below the modules that create such sources (a module may not import server).
 * A source is known by the symbol `pushTo`, not by the name of a method: only a source written
 * against this contract is pushed, never an iterator that merely has a method of that name.
 */
export const pushTo: unique symbol = Symbol('palaver.pushTo');

/**
 * An async iterator that can also hand its values on as they come: a consumer that takes them
 * through `[pushTo]()` pays no promise per value.
 */
export interface PushSource<T> extends AsyncIterableIterator<T> {
  /**
   * From now on every value goes to `value` as it is pushed, those already waiting first, and
   * `end` follows the last; next() is not used any more. `return()` still closes the source.
   */
  [pushTo](value: (value: T) => void, end: () => void): void;
}

/** Checked once per subscription, when its source stream is created; never per event. */
export function isPushSource<T>(source: AsyncIterable<T>): source is PushSource<T> {
  return typeof (source as Partial<PushSource<T>>)[pushTo] === 'function';
}
