import { performance } from 'node:perf_hooks';

/** How often the event loop's utilization is sampled. */
const SAMPLE_MS = 100;
/** At or below this utilization the server counts as idle: tokens go out one by one, at once. */
const IDLE_UTILIZATION = 0.5;
/** At or above this one it counts as busy: replies coalesce over their whole window. */
const BUSY_UTILIZATION = 0.85;

/** An event-loop utilization (0–1) as busyness: 0 up to IDLE_UTILIZATION, 1 from BUSY_UTILIZATION. */
export function busynessOf(utilization: number): number {
  const share = (utilization - IDLE_UTILIZATION) / (BUSY_UTILIZATION - IDLE_UTILIZATION);
  return Math.min(1, Math.max(0, share));
}

/**
 * How busy this process's event loop was over the last ~100 ms, as a share of the coalescing
 * window to use. An idle server sends each token the moment it arrives (merging only costs
 * latency then); a busy one merges a reply's tokens over up to STREAM_COALESCE_MS, so that it
 * writes fewer frames exactly when frames are what it is short of. In between, the window
 * grows linearly.
 */
export class LoadGauge {
  private last = performance.eventLoopUtilization();
  private utilization = 0;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  /** 0 when idle, 1 when busy. */
  busyness(): number {
    return busynessOf(this.utilization);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private sample(): void {
    const now = performance.eventLoopUtilization();
    this.utilization = performance.eventLoopUtilization(now, this.last).utilization;
    this.last = now;
  }
}
