import type { WebSocket } from 'ws';
import type { Viewer } from '../../graphql/context';
import type { SessionEndedPayload } from '../../modules/auth/session-ended';

/** graphql-ws's Forbidden: its client retries, calling connectionParams again for a new token. */
export const CLOSE_FORBIDDEN = 4403;

interface Entry {
  viewer: Viewer;
  expiryTimer: NodeJS.Timeout;
}

/**
 * The authenticated sockets of this instance, so that a socket closes with 4403 the moment its
 * access token expires or its session ends (logout, revoke, password change or reset).
 */
export class SocketRegistry {
  private readonly sockets = new Map<WebSocket, Entry>();

  add(socket: WebSocket, viewer: Viewer, tokenExpiresAt: Date): void {
    // setTimeout holds at most ~24.8 days; access tokens live minutes, so clamp for safety.
    const delay = Math.min(Math.max(0, tokenExpiresAt.getTime() - Date.now()), 2_000_000_000);
    const expiryTimer = setTimeout(() => {
      this.remove(socket);
      forbid(socket, 'Access token expired');
    }, delay);
    expiryTimer.unref();
    this.sockets.set(socket, { viewer, expiryTimer });
    socket.once('close', () => this.remove(socket));
  }

  remove(socket: WebSocket): void {
    const entry = this.sockets.get(socket);
    if (!entry) return;
    clearTimeout(entry.expiryTimer);
    this.sockets.delete(socket);
  }

  /** The user's registered sockets (a linear walk: registration is rare, sockets few). */
  countFor(userId: string): number {
    let count = 0;
    for (const { viewer } of this.sockets.values()) if (viewer.userId === userId) count += 1;
    return count;
  }

  viewerOf(socket: WebSocket): Viewer | undefined {
    return this.sockets.get(socket)?.viewer;
  }

  onSessionEnded(event: SessionEndedPayload): void {
    for (const [socket, { viewer }] of this.sockets) {
      if (viewer.userId !== event.userId) continue;
      const matches = event.sessionId
        ? viewer.sessionId === event.sessionId
        : viewer.sessionId !== event.exceptSessionId;
      if (matches) {
        // Dropped now, so the socket's next operation is refused at once; closed once this
        // turn's microtasks are done, so that the result of the operation that ended the
        // session (logoutAllSessions sent over this very socket) still reaches the client.
        this.remove(socket);
        setImmediate(() => forbid(socket, 'Session ended'));
      }
    }
  }

  clear(): void {
    for (const socket of [...this.sockets.keys()]) this.remove(socket);
  }
}

export function forbid(socket: WebSocket, reason: string): void {
  socket.close(CLOSE_FORBIDDEN, reason);
}
