import type { Server } from 'node:http';

/**
 * The API's origin when PUBLIC_URL is unset: the address it listens on (the port it really got,
 * for tests listening on port 0). A wildcard host is reached as loopback from this machine;
 * anything reachable from elsewhere sets PUBLIC_URL.
 */
export function publicOriginOf(server: Server, host: string): string {
  const address = server.address();
  const port = address && typeof address === 'object' ? address.port : 0;
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}
