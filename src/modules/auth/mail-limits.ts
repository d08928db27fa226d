import type { RateLimits } from '../../rate-limit/rate-limits';
import type { RequestMeta } from './request-meta';

/**
 * Mails a client can trigger: limited per target address (1 a minute, 5 an hour) so nobody
 * can flood an inbox, and per client address so nobody can spray many inboxes.
 */
export async function assertMailAllowed(
  rateLimits: RateLimits,
  address: string,
  meta: RequestMeta,
): Promise<void> {
  await rateLimits.consume('mailPerIp', meta.ip);
  await rateLimits.consume('mailPerAddressPerMinute', address);
  await rateLimits.consume('mailPerAddressPerHour', address);
}
