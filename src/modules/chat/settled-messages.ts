import { MessageStatus } from './chat-enums';
import type { MessageRecord } from './message.model';

/**
 * Text kept at most, in characters of content and reasoning (about twice as many bytes with
 * their parts): the recent messages of a few thousand chats.
 */
export const SETTLED_MESSAGES_MAX_CHARS = 4_000_000;
/** What a record costs beside its text (ids, dates, config, usage), counted in characters. */
const RECORD_OVERHEAD_CHARS = 400;

/**
 * Messages that no longer change, by id, the least recently used dropped first. On the local
 * database every message is read by itself (db/by-id.ts), and each send reads its history and
 * each chat read its page again, a large share of the one connection's time under the soak
 * (issue 39; figures: bench/FINDINGS.md). A message is settled once its reply ended: only
 * a STREAMING one is still written. Deleting a chat or an account forgets its messages here
 * after the database. Used only where one instance serves the database (the local one): another
 * instance's deletions would not reach this memory.
 */
export class SettledMessages {
  private readonly byId = new Map<string, MessageRecord>();
  private chars = 0;

  constructor(private readonly maxChars = SETTLED_MESSAGES_MAX_CHARS) {}

  get(id: string): MessageRecord | undefined {
    const found = this.byId.get(id);
    if (found) {
      // Most recently used last: a Map iterates in insertion order.
      this.byId.delete(id);
      this.byId.set(id, found);
    }
    return found;
  }

  remember(message: MessageRecord): void {
    if (message.status === MessageStatus.STREAMING) return;
    const id = String(message._id);
    this.drop(id);
    this.byId.set(id, message);
    this.chars += costOf(message);
    for (const [oldest] of this.byId) {
      if (this.chars <= this.maxChars) break;
      this.drop(oldest);
    }
  }

  forgetChat(chatId: string): void {
    for (const [id, message] of this.byId) if (String(message.chatId) === chatId) this.drop(id);
  }

  forgetUser(userId: string): void {
    for (const [id, message] of this.byId) if (String(message.userId) === userId) this.drop(id);
  }

  get size(): number {
    return this.byId.size;
  }

  private drop(id: string): void {
    const known = this.byId.get(id);
    if (!known) return;
    this.byId.delete(id);
    this.chars -= costOf(known);
  }
}

function costOf(message: MessageRecord): number {
  return message.content.length + (message.reasoning?.length ?? 0) + RECORD_OVERHEAD_CHARS;
}
