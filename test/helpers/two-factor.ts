import { generateSync } from 'otplib';
import { ConfirmTotpEnrollmentDocument, StartTotpEnrollmentDocument } from '../gql/graphql';
import { registerUser, type TestUser } from './accounts';
import type { TestApp } from './test-app';

/** A code of the authenticator app, `steps` time steps (30 s) from now. */
export const codeAt = (secret: string, steps = 0) =>
  generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + steps * 30 });

/** A six-digit code that is not any of the codes the secret accepts around now. */
export function wrongCode(secret: string, seed = 0): string {
  const right = new Set([-1, 0, 1].map((steps) => codeAt(secret, steps)));
  for (let n = seed; ; n++) {
    const candidate = String((n * 7919 + 123_457) % 1_000_000).padStart(6, '0');
    if (!right.has(candidate)) return candidate;
  }
}

export interface TwoFactorUser extends TestUser {
  secret: string;
  recoveryCodes: string[];
  /** The code that confirmed the enrollment (spent). */
  enrollingCode: string;
}

/** Registers a user and turns two-step sign-in on (the enrolling code is then spent). */
export async function enrolledUser(app: TestApp): Promise<TwoFactorUser> {
  const user = await registerUser(app);
  const token = user.auth.accessToken;
  const { startTotpEnrollment } = await app
    .http()
    .data(StartTotpEnrollmentDocument, { password: user.password }, { token });
  const enrollingCode = codeAt(startTotpEnrollment.secret);
  const { confirmTotpEnrollment } = await app
    .http()
    .data(ConfirmTotpEnrollmentDocument, { code: enrollingCode }, { token });
  return {
    ...user,
    secret: startTotpEnrollment.secret,
    recoveryCodes: confirmTotpEnrollment,
    enrollingCode,
  };
}
