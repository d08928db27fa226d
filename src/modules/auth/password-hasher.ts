/**
 * Password hashing. Protects stored passwords against offline cracking (argon2id with OWASP's
 * parameters) and the server against login storms (at most one hash per core at a time).
 */
import { availableParallelism } from 'node:os';
import argon2 from 'argon2';
import { Semaphore } from '../../util/semaphore';

/**
 * argon2id at one of the OWASP Password Storage Cheat Sheet's equivalent settings: 12 MiB,
 * 3 iterations, 1 lane (the sheet lists it beside 19 MiB/2, 46 MiB/1, 9 MiB/4 and 7 MiB/5 as
 * giving the same defence). Of those, it is the quickest to verify on this project's 2-core
 * machines and sustains the most hashes a second, which the login rate target needs
 * (figures: bench/FINDINGS.md, “Behind the code's comments”).
 */
export const ARGON2_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 12 * 1024,
  timeCost: 3,
  parallelism: 1,
} as const;

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 128;

export class PasswordHasher {
  private readonly slots = new Semaphore(Math.max(1, availableParallelism()));
  /** Verified against when the email is unknown, so that path costs the same as a real one. */
  private readonly dummyHash: Promise<string>;

  constructor() {
    this.dummyHash = argon2.hash('palaver-dummy-password-for-timing', ARGON2_OPTIONS);
  }

  hash(password: string): Promise<string> {
    return this.slots.run(() => argon2.hash(password, ARGON2_OPTIONS));
  }

  /**
   * Never throws on a malformed hash: a broken record must not become a way in or a 500. No
   * hash (an unknown address, or an account made by single sign-on) costs the same and fails.
   */
  async verify(hash: string | null | undefined, password: string): Promise<boolean> {
    const target = hash || (await this.dummyHash);
    const matches = await this.slots.run(() => argon2.verify(target, password).catch(() => false));
    return Boolean(hash) && matches;
  }
}
