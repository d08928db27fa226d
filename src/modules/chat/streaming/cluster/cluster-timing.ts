export interface ClusterTiming {
  /** The lease lapses this long after the last heartbeat: then others take the replies over. */
  leaseMs: number;
  heartbeatMs: number;
  /** How often every instance looks for replies whose owner is gone. */
  sweepMs: number;
  /** How often the database is checked for STREAMING replies that Redis no longer knows. */
  databaseCheckMs: number;
  /** A stop routed to a live owner is taken over by the caller if not done within this. */
  stopWaitMs: number;
}

export const DEFAULT_CLUSTER_TIMING: ClusterTiming = {
  leaseMs: 5_000,
  heartbeatMs: 1_500,
  sweepMs: 1_000,
  databaseCheckMs: 10_000,
  stopWaitMs: 3_000,
};
