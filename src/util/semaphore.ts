/**
 * Runs at most `limit` tasks at once; the rest wait in arrival order.
 *
 * Not p-limit, deliberately: p-limit 4 and later are ESM-only, and this project compiles to
 * CommonJS and tests under jest 29, whose module registry cannot require an ES module; p-limit 3,
 * the last CommonJS release, has had no release since 2021. This class is the 20 lines it needs.
 */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active += 1;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `active` stays the same.
      if (next) next();
      else this.active -= 1;
    }
  }
}
