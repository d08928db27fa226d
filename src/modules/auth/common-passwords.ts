import { dictionary } from '@zxcvbn-ts/language-common';

/**
 * The most common passwords, from zxcvbn-ts's ranked list (drawn from leaked password
 * corpora). The first 10,000 cover what credential-stuffing lists try first.
 */
const TOP_COMMON_PASSWORDS = 10_000;

let commonPasswords: Set<string> | null = null;

export function isCommonPassword(password: string): boolean {
  commonPasswords ??= new Set(
    (dictionary['passwords-common'] as string[])
      .slice(0, TOP_COMMON_PASSWORDS)
      .map((p) => p.toLowerCase()),
  );
  return commonPasswords.has(password.toLowerCase());
}
