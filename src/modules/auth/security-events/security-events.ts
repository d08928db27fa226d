import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import type { RequestMeta } from '../../../graphql/request-meta';
import type { SecurityEventKind, SecurityEventModel } from './security-event.model';

const MAX_USER_AGENT_LENGTH = 512;
/** Milliseconds since 1970 in base 36 stay 9 digits wide until the year 5188. */
const TIME_WIDTH = 9;

/** Writes security events (see SecurityEventRecord); each flow records what it did. */
export class SecurityEvents {
  constructor(private readonly models: { SecurityEvent: SecurityEventModel }) {}

  async record(
    userId: string,
    kind: SecurityEventKind,
    meta: RequestMeta,
    detail?: Record<string, string | number | boolean>,
  ): Promise<void> {
    const at = new Date();
    const time = at.getTime().toString(36).padStart(TIME_WIDTH, '0');
    await this.models.SecurityEvent.create({
      _id: `${userId}:${time}:${randomBytes(6).toString('base64url')}`,
      userId: new Types.ObjectId(userId),
      kind,
      at,
      ip: meta.ip,
      userAgent: meta.userAgent?.slice(0, MAX_USER_AGENT_LENGTH),
      ...(detail ? { detail } : {}),
    });
  }
}
