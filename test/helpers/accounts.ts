import { randomUUID } from 'node:crypto';
import { LoginDocument, RegisterDocument, type AuthPayloadFieldsFragment } from '../gql/graphql';
import type { TestApp } from './test-app';

export const STRONG_PASSWORD = 'plum-Orbit-47-lantern';

export interface TestUser {
  email: string;
  password: string;
  auth: AuthPayloadFieldsFragment;
}

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}@example.com`;
}

/** Registers a new account through the public API and returns its first session. */
export async function registerUser(
  app: TestApp,
  overrides: { email?: string; password?: string } = {},
): Promise<TestUser> {
  const email = overrides.email ?? uniqueEmail();
  const password = overrides.password ?? STRONG_PASSWORD;
  const data = await app.http().data(RegisterDocument, {
    input: { email, password, confirmPassword: password, firstName: 'Test', lastName: 'User' },
  });
  return { email, password, auth: data.register };
}

export async function loginUser(
  app: TestApp,
  user: { email: string; password: string },
  userAgent?: string,
) {
  const data = await app
    .http()
    .data(
      LoginDocument,
      { input: { email: user.email, password: user.password } },
      userAgent ? { headers: { 'user-agent': userAgent } } : {},
    );
  return data.login;
}
