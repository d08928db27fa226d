/**
 * Joins tokens that arrive close together into one delta, so a fast upstream does not cost one
 * WebSocket frame per token. A token that arrives after a quiet spell goes out at once; during
 * a burst, pending text waits at most `windowMs`. `windowMs` 0 turns coalescing off.
 */
export class Coalescer {
  private pending = '';
  private lastFlushAt = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly windowMs: number,
    private readonly emit: (text: string) => void,
  ) {}

  push(text: string): void {
    this.pending += text;
    if (this.timer) return;
    const wait = this.lastFlushAt + this.windowMs - Date.now();
    if (wait <= 0) {
      this.flush();
    } else {
      this.timer = setTimeout(() => this.flush(), wait);
    }
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.lastFlushAt = Date.now();
    this.emit(text);
  }
}
