/**
 * An abort signal that follows `parent` and also fires after `ms`. Built from a plain
 * AbortController and timer: Node 20's AbortSignal.any/AbortSignal.timeout can lose their
 * links to garbage collection and then never fire (nodejs/node#48951), which here would
 * mean a hung upstream is never timed out.
 */
export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private expired = false;
  private readonly forward = () => this.controller.abort(this.parent.reason);

  constructor(
    private readonly parent: AbortSignal,
    ms: number,
  ) {
    if (parent.aborted) this.controller.abort(parent.reason);
    else parent.addEventListener('abort', this.forward, { once: true });
    this.timer = setTimeout(() => {
      this.expired = true;
      this.controller.abort(new Error(`deadline of ${ms} ms passed`));
    }, ms);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True when the timer, not the parent, aborted the signal. */
  get timedOut(): boolean {
    return this.expired;
  }

  /** Stops the timer; the signal keeps following the parent (a stream that got its headers). */
  disarm(): void {
    clearTimeout(this.timer);
  }

  /** Stops the timer and unlinks from the parent. */
  dispose(): void {
    clearTimeout(this.timer);
    this.parent.removeEventListener('abort', this.forward);
  }
}
