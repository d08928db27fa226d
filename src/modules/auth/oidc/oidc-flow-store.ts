/**
 * What the server keeps between startOidcSignIn and completeOidcSignIn, by `state`: the PKCE
 * verifier and the nonce never reach the browser. Single use (taken with GETDEL, or deleted
 * from the map, so one completion wins) and 10 minutes. In Redis when REDIS_URL is set, so any
 * instance completes a flow another started.
 */
import type { Redis } from 'ioredis';
import { hashOpaqueToken } from '../opaque-token';

/** How long a user has at the provider (CONTRACT.md: 10 minutes). */
export const OIDC_FLOW_TTL_MS = 10 * 60_000;

export interface OidcFlow {
  provider: string;
  redirectUri: string;
  codeVerifier: string;
  nonce: string;
}

export interface OidcFlowStore {
  put(state: string, flow: OidcFlow): Promise<void>;
  /** The flow, once; null when unknown, taken already or expired. */
  take(state: string): Promise<OidcFlow | null>;
}

/** Keys hold the state's hash: a dump of Redis does not hand out live states. */
const keyOf = (state: string) => `palaver:oidc-flow:${hashOpaqueToken(state)}`;

export class RedisOidcFlowStore implements OidcFlowStore {
  constructor(private readonly redis: Redis) {}

  async put(state: string, flow: OidcFlow): Promise<void> {
    await this.redis.set(keyOf(state), JSON.stringify(flow), 'PX', OIDC_FLOW_TTL_MS);
  }

  async take(state: string): Promise<OidcFlow | null> {
    const raw = await this.redis.getdel(keyOf(state));
    return raw ? (JSON.parse(raw) as OidcFlow) : null;
  }
}

/** One instance (no Redis): in this process, with expired flows dropped as new ones come. */
export class InMemoryOidcFlowStore implements OidcFlowStore {
  private readonly flows = new Map<string, { flow: OidcFlow; expiresAt: number }>();

  async put(state: string, flow: OidcFlow): Promise<void> {
    const now = Date.now();
    for (const [key, entry] of this.flows) if (entry.expiresAt <= now) this.flows.delete(key);
    this.flows.set(keyOf(state), { flow, expiresAt: now + OIDC_FLOW_TTL_MS });
  }

  async take(state: string): Promise<OidcFlow | null> {
    const key = keyOf(state);
    const entry = this.flows.get(key);
    this.flows.delete(key);
    return entry && entry.expiresAt > Date.now() ? entry.flow : null;
  }
}
