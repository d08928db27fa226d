/**
 * Fires when nothing arrived for `ms`. A chunk only records its time: re-arming a timer per
 * token would cost a clearTimeout and a setTimeout each. The one timer, when it fires, re-arms
 * for the time left since the last chunk.
 */
export class IdleTimer {
  fired = false;
  private lastActivity = performance.now();
  private timer: NodeJS.Timeout;

  constructor(
    private readonly ms: number,
    private readonly onIdle: () => void,
  ) {
    this.timer = this.arm(ms);
  }

  private arm(delay: number): NodeJS.Timeout {
    return setTimeout(() => {
      const idleFor = performance.now() - this.lastActivity;
      if (idleFor < this.ms) {
        this.timer = this.arm(this.ms - idleFor);
        return;
      }
      this.fired = true;
      this.onIdle();
    }, delay);
  }

  reset(): void {
    this.lastActivity = performance.now();
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}
