import type { MailMessage } from '../../mail/mailer';
import type { MailOutbox } from '../../mail/outbox';
import type { RateLimits } from '../../rate-limit/rate-limits';
import type { UserRecord, UserModel } from '../users/user.model';
import { parseEmailArgument } from './auth.inputs';
import type { RequestMeta } from '../../graphql/request-meta';

/**
 * Mails a client can trigger (verification resend, password reset), limited two ways:
 * - per client address (`mailPerIp`), so nobody can spray many inboxes: over it, the caller
 *   gets RATE_LIMITED, the same for a known and an unknown target;
 * - per target address and kind of mail (1 a minute, 5 an hour, the sign-up mail counting as a
 *   verification), so nobody can flood an inbox: over it, the mail is skipped silently and the
 *   call still answers true, because a refusal would tell the caller that the address has an
 *   account that was just mailed. Kinds count apart, so the sign-up mail never holds back the
 *   reset a new user asks for in their first minute (as GoTrue keeps recovery_sent_at apart
 *   from confirmation_sent_at).
 * Each counts the call before deciding, so concurrent requests cannot all pass.
 * Returns whether the mail may go.
 */
export async function mayMail(
  rateLimits: RateLimits,
  kind: MailKind,
  address: string,
  meta: RequestMeta,
): Promise<boolean> {
  await rateLimits.consume('mailPerIp', meta.ip);
  const key = mailLimitKey(kind, address);
  const withinMinute = await rateLimits.tryConsume('mailPerAddressPerMinute', key);
  const withinHour = withinMinute && (await rateLimits.tryConsume('mailPerAddressPerHour', key));
  return withinMinute && withinHour;
}

/** The kinds of mail a client can trigger by address; each has its own per-address limit. */
export type MailKind = 'verification' | 'reset';

/** The per-address limits' key: one count per kind of mail and address. */
export function mailLimitKey(kind: MailKind, address: string): string {
  return `${kind}:${address}`;
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
  deps: { models: { User: UserModel }; rateLimits: RateLimits; outbox: MailOutbox },
  kind: MailKind,
  email: string,
  meta: RequestMeta,
  compose: (account: MailedAccount) => Promise<MailMessage | null>,
): Promise<true> {
  const address = parseEmailArgument(email);
  if (!(await mayMail(deps.rateLimits, kind, address, meta))) return true;
  deps.outbox.enqueue(async () => {
    const account = await deps.models.User.findOne(
      { email: address },
      { email: 1, firstName: 1, emailVerified: 1 },
    ).lean();
    return account ? compose(account) : null;
  });
  return true;
}
