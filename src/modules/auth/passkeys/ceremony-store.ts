/**
 * WebAuthn challenges between a start and its finish, by the challenge itself (which comes back
 * signed inside clientDataJSON). Single use (GETDEL, or delete from the map) and 5 minutes; in
 * Redis when REDIS_URL is set, so any instance finishes what another started.
 */
import type { Redis } from 'ioredis';
import { hashOpaqueToken } from '../opaque-token';

export const CEREMONY_TTL_MS = 5 * 60_000;

export interface Ceremony {
  kind: 'register' | 'sign-in';
  /** The signed-in user who registers. */
  userId?: string;
}

export interface CeremonyStore {
  put(challenge: string, ceremony: Ceremony): Promise<void>;
  take(challenge: string): Promise<Ceremony | null>;
}

const keyOf = (challenge: string) => `palaver:webauthn:${hashOpaqueToken(challenge)}`;

export class RedisCeremonyStore implements CeremonyStore {
  constructor(private readonly redis: Redis) {}

  async put(challenge: string, ceremony: Ceremony): Promise<void> {
    await this.redis.set(keyOf(challenge), JSON.stringify(ceremony), 'PX', CEREMONY_TTL_MS);
  }

  async take(challenge: string): Promise<Ceremony | null> {
    const raw = await this.redis.getdel(keyOf(challenge));
    return raw ? (JSON.parse(raw) as Ceremony) : null;
  }
}

export class InMemoryCeremonyStore implements CeremonyStore {
  private readonly ceremonies = new Map<string, { ceremony: Ceremony; expiresAt: number }>();

  async put(challenge: string, ceremony: Ceremony): Promise<void> {
    const now = Date.now();
    for (const [key, entry] of this.ceremonies) {
      if (entry.expiresAt <= now) this.ceremonies.delete(key);
    }
    this.ceremonies.set(keyOf(challenge), { ceremony, expiresAt: now + CEREMONY_TTL_MS });
  }

  async take(challenge: string): Promise<Ceremony | null> {
    const key = keyOf(challenge);
    const entry = this.ceremonies.get(key);
    this.ceremonies.delete(key);
    return entry && entry.expiresAt > Date.now() ? entry.ceremony : null;
  }
}

/** The challenge a WebAuthn response signed, from its clientDataJSON; '' when unreadable. */
export function challengeOf(response: Record<string, unknown>): string {
  try {
    const inner = response.response as { clientDataJSON?: unknown } | undefined;
    const json = Buffer.from(String(inner?.clientDataJSON ?? ''), 'base64url').toString('utf8');
    const challenge = (JSON.parse(json) as { challenge?: unknown }).challenge;
    return typeof challenge === 'string' ? challenge : '';
  } catch {
    return '';
  }
}
