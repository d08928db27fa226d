import type { MailMessage } from '../../mail/mailer';
import type { MailOutbox } from '../../mail/outbox';
import type { RateLimits } from '../../rate-limit/rate-limits';
import type { Models } from '../models';
import type { UserRecord } from '../users/user.model';
import { parseEmailArgument } from './auth.inputs';
import type { RequestMeta } from '../../kernel/request-meta';

/**
 * Mails a client can trigger (verification resend, password reset), limited two ways:
 * - per client address (`mailPerIp`), so nobody can spray many inboxes: over it, the caller
 *   gets RATE_LIMITED, the same for a known and an unknown target;
 * - per target address (1 a minute, 5 an hour, the sign-up mail included), so nobody can flood
 *   an inbox: over it, the mail is skipped silently and the call still answers true, because
 *   a refusal would tell the caller that the address has an account that was just mailed.
 * Each counts the call before deciding, so concurrent requests cannot all pass.
 * Returns whether the mail may go.
 */
export async function mayMail(
  rateLimits: RateLimits,
  address: string,
  meta: RequestMeta,
): Promise<boolean> {
  await rateLimits.consume('mailPerIp', meta.ip);
  const withinMinute = await rateLimits.tryConsume('mailPerAddressPerMinute', address);
  const withinHour =
    withinMinute && (await rateLimits.tryConsume('mailPerAddressPerHour', address));
  return withinMinute && withinHour;
}

/** What a mail asked for by address may know of the account it goes to. */
export type MailedAccount = Pick<UserRecord, '_id' | 'email' | 'firstName' | 'emailVerified'>;

/**
 * A mail that a client asks for by address (resend verification, forgot password): counted by
 * `mayMail`, then answered true at once, for any address; the account is looked up and the
 * mail composed in the background, so neither the answer nor its timing tells whether an
 * account exists. `compose` returns null when there is nothing to send.
 */
export async function mailAccountInBackground(
  deps: { models: Models; rateLimits: RateLimits; outbox: MailOutbox },
  email: string,
  meta: RequestMeta,
  compose: (account: MailedAccount) => Promise<MailMessage | null>,
): Promise<true> {
  const address = parseEmailArgument(email);
  if (!(await mayMail(deps.rateLimits, address, meta))) return true;
  deps.outbox.enqueue(async () => {
    const account = await deps.models.User.findOne(
      { email: address },
      { email: 1, firstName: 1, emailVerified: 1 },
    ).lean();
    return account ? compose(account) : null;
  });
  return true;
}
