/**
 * The signing secret of a local development setup. Protects against the published-default
 * trap: a constant development secret lets anyone forge tokens for any server started without
 * SECRET_KEY (a token signed with it for ten years was accepted). Instead each local data folder
 * gets 32 random bytes of its own, created once (owner-only file) and kept beside the data, so
 * that sessions survive restarts and no two setups share a key.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Beside the local database's data (git-ignored), from src/config or dist/config alike. */
export const LOCAL_SECRET_FILE = path.resolve(__dirname, '..', '..', '.localdb', 'secret-key');
const SECRET_BYTES = 32;
/** 32 bytes in base64url; anything shorter was not written by this code (an emptied file). */
const MIN_SECRET_LENGTH = 43;

export class LocalSecretError extends Error {
  override name = 'LocalSecretError';
}

export function localSecret(file: string = LOCAL_SECRET_FILE): string {
  const existing = readSecret(file);
  if (existing !== null) return existing;
  mkdirSync(path.dirname(file), { recursive: true });
  // Written whole under a private name, then linked into place: the link fails if the file
  // exists, so of two processes starting at once one publishes and both read the same
  // complete key (opening the final name with `wx` and writing after let the other read it
  // empty in between).
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(draft, `${randomBytes(SECRET_BYTES).toString('base64url')}\n`, { mode: 0o600 });
  try {
    linkSync(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    rmSync(draft, { force: true });
  }
  return readSecret(file)!;
}

/** The key in the file, null when there is no file; refuses an empty or truncated one. */
function readSecret(file: string): string | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  if (text.length < MIN_SECRET_LENGTH) {
    throw new LocalSecretError(
      `The local signing secret ${file} is empty or too short to sign tokens with. Delete it ` +
        'and start again to get a new one (sessions signed with the old one end), or set SECRET_KEY.',
    );
  }
  return text;
}

/** 127.0.0.0/8, ::1 and localhost: a server only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
