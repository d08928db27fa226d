/** One of a user's reply slots, held from the accepted send to the reply's end. */
export interface ReplySlot {
  /** Gives the slot back (once; later calls do nothing). */
  release(): void;
}

/**
 * The per-user cap on replies being written at once. A slot is taken before anything is saved,
 * in one atomic step, so of concurrent sends only as many as there are free slots get one.
 */
export interface ReplySlots {
  /** A slot, or null when the user already holds `max`. */
  take(userId: string, max: number): Promise<ReplySlot | null>;
  close(): void;
}

/** The cap of one process. */
export class LocalReplySlots implements ReplySlots {
  private readonly held = new Map<string, number>();

  take(userId: string, max: number): Promise<ReplySlot | null> {
    const count = this.held.get(userId) ?? 0;
    if (count >= max) return Promise.resolve(null);
    this.held.set(userId, count + 1);
    return Promise.resolve(
      slotOf(() => {
        const left = (this.held.get(userId) ?? 1) - 1;
        if (left > 0) this.held.set(userId, left);
        else this.held.delete(userId);
      }),
    );
  }

  close(): void {}
}

/** A slot whose `release` runs once, whatever the number of calls. */
export function slotOf(release: () => void): ReplySlot {
  let released = false;
  return {
    release: () => {
      if (released) return;
      released = true;
      release();
    },
  };
}
