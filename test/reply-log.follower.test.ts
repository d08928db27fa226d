import { setTimeout as sleep } from 'node:timers/promises';
import 'reflect-metadata';
import type { MessageService } from '../src/modules/chat/message.service';
import type { MessageRecord } from '../src/modules/chat/message.model';
import { InProcessReplyLogs } from '../src/modules/chat/streaming/in-process-reply-logs';
import type { ReplyEvent } from '../src/modules/chat/streaming/reply-event';
import type { ReplyLog, ReplyLogRead, ReplyLogs } from '../src/modules/chat/streaming/reply-log';
import { ReplyFollower } from '../src/modules/chat/streaming/reply-follower';

/**
 * The follower against the reply-log seam: a log elsewhere (another instance's) answers `read`
 * after a round trip, while deltas keep arriving; every seq must still come exactly once.
 */
const noDatabase = {
  getOwned: () => Promise.reject(new Error('the database must not be read')),
} as unknown as MessageService;

const saved = {
  _id: 'm1',
  chatId: 'c1',
  userId: 'u1',
  role: 'ASSISTANT',
  content: 'abcd',
  status: 'COMPLETE',
  createdAt: new Date(),
  updatedAt: new Date(),
} as unknown as MessageRecord;

async function collect(events: AsyncIterableIterator<ReplyEvent>) {
  const seen: ReplyEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

/** Wraps a log so that `read` answers only after `during` ran (a round trip elsewhere). */
function slowReads(logs: InProcessReplyLogs, during: (log: ReplyLog) => void): ReplyLogs {
  return {
    open: (id, user) => logs.open(id, user),
    retire: (log) => logs.retire(log),
    close: () => logs.close(),
    flush: () => logs.flush(),
    stillOwned: (ids) => logs.stillOwned(ids),
    find: async (id) => {
      const log = await logs.find(id);
      if (!log) return undefined;
      return {
        get messageId() {
          return log.messageId;
        },
        get userId() {
          return log.userId;
        },
        exclusive: log.exclusive,
        ownerKnown: log.ownerKnown,
        append: (text) => log.append(text),
        appendReasoning: (text) => log.appendReasoning(text),
        appendToolCall: (state) => log.appendToolCall(state),
        finish: (record) => log.finish(record),
        listen: (listener) => log.listen(listener),
        read: async (after): Promise<ReplyLogRead> => {
          const answer = await log.read(after);
          during(log);
          await sleep(5);
          return answer;
        },
      };
    },
  };
}

describe('reply log: a follower gets every seq once, in order', () => {
  it('should neither lose nor repeat deltas appended while its read is on the way', async () => {
    const logs = new InProcessReplyLogs();
    const log = logs.open('m1', 'u1');
    log.append('a');
    log.append('b');
    const follower = new ReplyFollower(
      noDatabase,
      slowReads(logs, (inner) => {
        inner.append('c');
        inner.append('d');
        inner.finish(saved);
      }),
    );
    const seen = await collect(await follower.follow('u1', 'm1', 1));
    expect(seen.map((event) => [event.seq, event.delta, event.done])).toEqual([
      [2, 'b', false],
      [3, 'c', false],
      [4, 'd', false],
      [5, '', true],
    ]);
    expect(seen[3].message?.content).toBe('abcd');
    logs.close();
  });

  it('should hand every follower the same event objects, built once by the writer', async () => {
    const logs = new InProcessReplyLogs();
    const log = logs.open('m1', 'u1');
    const follower = new ReplyFollower(noDatabase, logs);
    const first = follower.follow('u1', 'm1', 0).then(collect);
    const second = follower.follow('u1', 'm1', 0).then(collect);
    await new Promise((resolve) => setImmediate(resolve));
    log.append('x');
    log.finish(saved);
    const [a, b] = await Promise.all([first, second]);
    expect(a).toHaveLength(2);
    a.forEach((event, index) => expect(b[index]).toBe(event));
    logs.close();
  });

  it("should not serve another user's log: the database decides (NOT_FOUND there)", async () => {
    const logs = new InProcessReplyLogs();
    logs.open('m1', 'u1').append('secret');
    const follower = new ReplyFollower(noDatabase, logs);
    await expect(follower.follow('intruder', 'm1', 0)).rejects.toThrow(
      'the database must not be read',
    );
    logs.close();
  });
});
