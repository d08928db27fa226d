import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';

export type TrustProxy = boolean | number | string;

/**
 * The client address of a request, as Express's `trust proxy` setting would compute it, for
 * both `/graphql` over HTTP and the WebSocket upgrade (neither passes through Express): without
 * a trusted proxy, `X-Forwarded-For` is ignored and cannot spoof rate-limit keys.
 */
export function compileTrust(trust: TrustProxy): (address: string, hop: number) => boolean {
  if (trust === true) return () => true;
  if (trust === false) return () => false;
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return proxyAddr.compile(trust.split(',').map((part) => part.trim()));
}

export function clientIpOf(
  request: IncomingMessage,
  trust: ReturnType<typeof compileTrust>,
): string {
  return proxyAddr(request as Parameters<typeof proxyAddr>[0], trust);
}
