import type { Socket } from 'node:net';
import type WebSocket from 'ws';

/**
 * Frames that one client message causes within the same event-loop turn leave in one write:
 * a subscription to a finished reply sends `next` and `complete`, a resumed one replays many
 * deltas. Each frame would otherwise be its own syscall, the largest cost of a subscription
 * measured by `npm run bench -- --only subscribe`. The socket is uncorked in the same turn's
 * check phase, so nothing waits on a later event.
 */
export function batchRepliesPerTurn(socket: WebSocket, transport: Socket): void {
  let corked = false;
  socket.on('message', () => {
    if (corked) return;
    corked = true;
    transport.cork();
    setImmediate(() => {
      corked = false;
      transport.uncork();
    });
  });
}
