import type { MailMessage } from '../../mail/mailer';
import type { MailOutbox } from '../../mail/outbox';
import type { RateLimits } from '../../rate-limit/rate-limits';
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

/**
 * A mail that a client asks for by address (resend verification, forgot password): counted by
 * `mayMail`, then answered true at once, for any address; the account is looked up and the
 * mail composed in the background, so neither the answer nor its timing tells whether an
 * account exists. `compose` returns null when there is nothing to send.
 */
export async function mailAddressInBackground(
  deps: { rateLimits: RateLimits; outbox: MailOutbox },
  address: string,
  meta: RequestMeta,
  compose: () => Promise<MailMessage | null>,
): Promise<true> {
  if (await mayMail(deps.rateLimits, address, meta)) deps.outbox.enqueue(compose);
  return true;
}
