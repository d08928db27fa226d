/**
 * Whether the page that opens a socket may do so, by its Origin header: the handshake's
 * verifyClient (websocket-gateway.ts) refuses the others with 403.
 *
 * No Origin: not a browser (a server, a CLI, a native app), which CORS does not concern. A
 * page of this server itself (the IDE) is same-origin. Anything else must be listed.
 */
export function isAllowedOrigin(
  origin: string | undefined,
  host: string | undefined,
  allowed: readonly string[],
): boolean {
  if (!origin) return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}
