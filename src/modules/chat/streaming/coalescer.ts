/**
 * Joins tokens that arrive close together into one delta, so a fast upstream does not cost one
 * WebSocket frame per token when frames are what the server is short of. The window adapts to
 * the load (`busyness`, see LoadGauge): 0 on an idle server, up to `maxWindowMs` on a busy one.
 * A token after a quiet spell longer than the window goes out at the end of the event-loop
 * turn it arrived in (with the others of the same network read, at no cost in latency); during
 * a burst, pending text waits at most the window. `maxWindowMs` 0 turns coalescing off: one
 * delta per token, sent at once.
 */
export class Coalescer {
  private pending = '';
  private lastFlushAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private endOfTurn: NodeJS.Immediate | null = null;

  constructor(
    private readonly maxWindowMs: number,
    private readonly busyness: () => number,
    private readonly emit: (text: string) => void,
  ) {}

  push(text: string): void {
    if (this.maxWindowMs === 0) return this.emit(text);
    this.pending += text;
    if (this.timer || this.endOfTurn) return;
    const wait = this.lastFlushAt + this.maxWindowMs * this.busyness() - performance.now();
    if (wait <= 0) {
      this.endOfTurn = setImmediate(() => this.flush());
    } else {
      this.timer = setTimeout(() => this.flush(), wait);
    }
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.endOfTurn) {
      clearImmediate(this.endOfTurn);
      this.endOfTurn = null;
    }
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.lastFlushAt = performance.now();
    this.emit(text);
  }
}
