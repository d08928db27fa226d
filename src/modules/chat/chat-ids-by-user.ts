import type { ChatModel } from './chat.model';

/** Users whose chat ids are kept at most, the least recently listed forgotten first. */
export const CHAT_IDS_MAX_USERS = 20_000;

interface Load {
  ids: Promise<Set<string>>;
  /** Chats made or deleted while the load reads: applied to what it read. */
  changes: Array<(ids: Set<string>) => void>;
}

/**
 * The ids of each user's chats, kept in memory on the local database, so that a list of chats
 * reads the user's chats by `_id` (db/by-id.ts) instead of the whole collection (FerretDB scans
 * for `{ userId }`: the chats list took the largest share of the one connection's time under
 * the soak, issue 39; figures: bench/FINDINGS.md). A user's ids are read once (one scan), then
 * kept as this process makes and deletes chats: used only where this process is the database's
 * one writer (the local database serves one instance).
 */
export class ChatIdsByUser {
  private readonly known = new Map<string, Set<string>>();
  private readonly loads = new Map<string, Load>();

  constructor(
    private readonly models: { Chat: ChatModel },
    private readonly maxUsers = CHAT_IDS_MAX_USERS,
  ) {}

  /** The user's chat ids (the set is shared: read it, never change it). */
  async of(userId: string): Promise<ReadonlySet<string>> {
    const known = this.known.get(userId);
    if (known) {
      // Most recently used last: a Map iterates in insertion order.
      this.known.delete(userId);
      this.known.set(userId, known);
      return known;
    }
    const running = this.loads.get(userId);
    if (running) return running.ids;
    const load: Load = { ids: this.load(userId), changes: [] };
    this.loads.set(userId, load);
    try {
      return await load.ids;
    } finally {
      this.loads.delete(userId);
    }
  }

  added(userId: string, chatId: string): void {
    this.change(userId, (ids) => ids.add(chatId));
  }

  removed(userId: string, chatId: string): void {
    this.change(userId, (ids) => ids.delete(chatId));
  }

  /** The account is gone: its chats with it. */
  forgetUser(userId: string): void {
    this.known.delete(userId);
    this.loads.get(userId)?.changes.push((ids) => ids.clear());
  }

  private change(userId: string, apply: (ids: Set<string>) => void): void {
    const known = this.known.get(userId);
    if (known) apply(known);
    this.loads.get(userId)?.changes.push(apply);
  }

  private async load(userId: string): Promise<Set<string>> {
    const found = await this.models.Chat.find({ userId }, { _id: 1 }).lean();
    const ids = new Set(found.map(({ _id }) => String(_id)));
    for (const apply of this.loads.get(userId)?.changes ?? []) apply(ids);
    this.known.set(userId, ids);
    for (const [oldest] of this.known) {
      if (this.known.size <= this.maxUsers) break;
      this.known.delete(oldest);
    }
    return ids;
  }
}
