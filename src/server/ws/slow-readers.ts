import type WebSocket from 'ws';

/** Close code for a socket dropped for reading too slowly: "Try Again Later" (RFC 6455). */
export const CLOSE_SLOW_READER = 1013;
/** After the close frame, a client that reads nothing more is cut off this much later. */
const TERMINATE_AFTER_MS = 1_000;

/**
 * Bounds what one socket may hold in the server's memory, unread by its client. Every frame
 * (a replayed or live delta, a done event) waits in the socket's buffer until the client reads
 * it; a client that stops reading (a paused tab, a hostile script with many subscriptions)
 * would otherwise grow that buffer without end (figures: bench/FINDINGS.md, “Behind the code's comments”). Over `maxBytes` the socket is closed with 1013 and cut off a second later; the
 * client reconnects and resumes each reply with `after`, which loses nothing.
 *
 * Writes that fail because the socket is already gone are not errors of the operations that
 * sent them: they are swallowed here, and the close is logged once, by `onOverflow`.
 */
export function boundUnreadBytes(
  socket: WebSocket,
  maxBytes: number,
  onOverflow: (bufferedBytes: number) => void,
): void {
  const send = socket.send.bind(socket) as (
    data: unknown,
    callback: (error?: Error) => void,
  ) => void;
  let dropped = false;
  (socket as { send: unknown }).send = (data: unknown, ...rest: unknown[]) => {
    const callback = rest.find((arg) => typeof arg === 'function') as
      ((error?: Error) => void) | undefined;
    send(data, (error) => callback?.(socket.readyState === socket.OPEN ? error : undefined));
    if (!dropped && socket.bufferedAmount > maxBytes) {
      dropped = true;
      onOverflow(socket.bufferedAmount);
      socket.close(CLOSE_SLOW_READER, 'Reading too slowly; reconnect and resume with after');
      setTimeout(() => socket.terminate(), TERMINATE_AFTER_MS).unref();
    }
  };
}
