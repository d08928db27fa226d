/**
 * A timer whose time does not run while it is paused: a reply's time limit counts the time it
 * streams, not the time a tool call waits for the user's approval.
 */
export class PausableTimer {
  private remaining: number;
  private startedAt = performance.now();
  private timer: NodeJS.Timeout | null;

  constructor(
    ms: number,
    private readonly onFire: () => void,
  ) {
    this.remaining = ms;
    this.timer = setTimeout(onFire, ms);
  }

  pause(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.remaining -= performance.now() - this.startedAt;
  }

  resume(): void {
    if (this.timer) return;
    this.startedAt = performance.now();
    this.timer = setTimeout(this.onFire, Math.max(0, this.remaining));
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.remaining = Infinity;
  }
}
