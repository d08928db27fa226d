/**
 * Where a cluster keeps what it shares about replies (REDIS_URL set). Every key of a reply
 * starts with its message id, so one reply's state is easy to find with redis-cli.
 */
const REPLY = 'palaver:reply:';

export const replyKeys = {
  /** The replay log: a Redis Stream with entry id `<seq>-0`, so `after` maps onto XRANGE. */
  log: (messageId: string) => `${REPLY}${messageId}:log`,
  /**
   * Hash: userId, owner (instance id), epoch (one per start), state (streaming | ended), and
   * traceparent (the reply's span, when tracing is on).
   */
  meta: (messageId: string) => `${REPLY}${messageId}:meta`,
  /** Pub/sub channel of the live entries, published in the same script as they are logged. */
  live: (messageId: string) => `${REPLY}${messageId}:live`,
  /** Asked to stop (its value: the reason); the owner also polls it on its heartbeat. */
  stop: (messageId: string) => `${REPLY}${messageId}:stop`,
  /** Set of the ids of every reply streaming somewhere in the cluster: what the sweep visits. */
  streaming: 'palaver:replies:streaming',
  /** Held by a live instance (PX, refreshed by its heartbeat); gone means the instance is. */
  lease: (instanceId: string) => `palaver:instance:${instanceId}:lease`,
  /** Pub/sub channel of the commands sent to an instance (stop a reply it owns). */
  control: (instanceId: string) => `palaver:instance:${instanceId}:control`,
  /** Pub/sub channel on which followers elsewhere tell an instance which of its replies they follow. */
  followed: (instanceId: string) => `palaver:instance:${instanceId}:followed`,
  /** Sorted set of a user's held reply slots, scored by when each lapses. */
  slots: (userId: string) => `palaver:user:${userId}:reply-slots`,
};

/** A reply's log lives this long while streaming (refreshed by every write) … */
export const STREAMING_LOG_TTL_MS = 6 * 60 * 60 * 1000;
/** … and this long after its end, for followers that resume late. */
export const ENDED_LOG_TTL_MS = 10 * 60 * 1000;
