/**
 * The signing secret of a local development setup. Protects against the published-default
 * trap: a constant development secret lets anyone forge tokens for any server started without
 * SECRET_KEY (a token signed with it for ten years was accepted). Instead each local data folder
 * gets 32 random bytes of its own, created once (owner-only file) and kept beside the data, so
 * that sessions survive restarts and no two setups share a key.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Beside the local database's data (git-ignored), from src/config or dist/config alike. */
export const LOCAL_SECRET_FILE = path.resolve(__dirname, '..', '..', '.localdb', 'secret-key');
const SECRET_BYTES = 32;

export function localSecret(file: string = LOCAL_SECRET_FILE): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(path.dirname(file), { recursive: true });
  try {
    // `wx`: of two processes starting at once, one writes and both read the same key.
    writeFileSync(file, `${randomBytes(SECRET_BYTES).toString('base64url')}\n`, {
      flag: 'wx',
      mode: 0o600,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return readFileSync(file, 'utf8').trim();
}

/** 127.0.0.0/8, ::1 and localhost: a server only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
