import { graphql, SEND, startSubject, type Bench, type CaseResult } from '../lib/context';
import { median } from '../lib/stats';
import { nowMs, StreamClient } from '../lib/ws-load';
import type { SeededUser } from '../lib/seed';

const ME = '{ me { id email firstName metadata } }';
const CHATS_PAGE =
  '{ chats(limit: 20) { totalCount nodes { id title messageCount updatedAt messages(limit: 1) { id role content } } } }';
/** Owners of the grown data: chats spread over them as over a small team's accounts. */
const OWNERS = 50;
const REQUESTS = 20;
const SENDS = 8;
/** `_id`-only paths may cost at most this much more at the largest size than at the smallest. */
const FLAT_RATIO = 1.5;

interface SizeFigures {
  messages: number;
  chats: number;
  meMs: number;
  chatsPageMs: number;
  sendMs: number;
  /** The upstream's last chunk → the client's done event: the reply's final save and its notice. */
  replyEndMs: number;
}

/**
 * growth (issue 14): what a request costs as the database fills up, on the server's own
 * database. Messages grow to each size in chats of ten (prompt and answer in turn) spread over
 * 50 users; at each size, medians of `me`, a page of 20 chats (of a user holding a fiftieth of
 * the chats), a sendMessage into a chat with history, and the end of its reply (final save). The
 * paths that look documents up by `_id` alone — me, a send, a reply's saves — must stay flat;
 * a page of chats filters by owner and is reported as its curve.
 */
export async function growthCase(bench: Bench): Promise<CaseResult[]> {
  // BENCH_GROWTH_SIZES (e.g. 1000,10000) measures other sizes, such as an earlier build's.
  const sizes = process.env.BENCH_GROWTH_SIZES
    ? process.env.BENCH_GROWTH_SIZES.split(',').map(Number)
    : bench.quick
      ? [200, 1_000]
      : [1_000, 10_000, 100_000];
  const owners = await bench.seeder.users(OWNERS, 'growth');
  const subject = await startSubject(bench);
  const figures: SizeFigures[] = [];
  let errors = 0;
  try {
    for (const [index, size] of sizes.entries()) {
      await bench.seeder.growTo(owners, size);
      // A sender of its own per size: the per-minute limit of sends is per user.
      const [sender] = await bench.seeder.users(1, `growth-sender-${size}`);
      const [chatId] = await bench.seeder.emptyChats([sender!]);
      const measured = await measureAt(bench, subject.port, owners[index]!, sender!, chatId!);
      errors += measured.errors;
      figures.push({ messages: size, chats: size / 10, ...measured.figures });
    }
  } finally {
    await subject.stop();
  }
  const first = figures[0]!;
  const last = figures[figures.length - 1]!;
  const flat = (pick: (f: SizeFigures) => number) => pick(last) / pick(first);
  const idOnly = {
    me: flat((f) => f.meMs),
    send: flat((f) => f.sendMs),
    replyEnd: flat((f) => f.replyEndMs),
  };
  const worst = Math.max(...Object.values(idOnly));
  const curve = (pick: (f: SizeFigures) => number) =>
    figures.map((f) => `${f.messages}: ${pick(f).toFixed(1)}`).join(', ');
  return [
    {
      case: 'growth',
      measure: `_id-only paths (me, a send, a reply's end), ms at ${sizes.join(' / ')} messages: worst ratio largest / smallest`,
      unit: '×',
      subject: worst,
      baseline: null,
      ratio: null,
      target: `≤ ${FLAT_RATIO}× from ${first.messages} to ${last.messages} messages`,
      pass: worst <= FLAT_RATIO && errors === 0,
      errors,
      details: {
        ratios: idOnly,
        meMs: curve((f) => f.meMs),
        sendMs: curve((f) => f.sendMs),
        replyEndMs: curve((f) => f.replyEndMs),
        figures,
      },
    },
    {
      case: 'growth-list',
      measure:
        'a page of 20 chats (filtered by owner, sorted), ms by messages held (chats: a tenth)',
      unit: 'ms',
      subject: last.chatsPageMs,
      baseline: null,
      ratio: null,
      target: 'reported as a curve (the local database reads every chat for it)',
      pass: errors === 0,
      errors,
      details: { chatsPageMs: curve((f) => f.chatsPageMs) },
    },
  ];
}

async function measureAt(
  bench: Bench,
  port: number,
  reader: SeededUser,
  sender: SeededUser,
  chatId: string,
): Promise<{ figures: Omit<SizeFigures, 'messages' | 'chats'>; errors: number }> {
  let errors = 0;
  const timed = async (query: string, token: string, check: (data: any) => boolean) => {
    const times: number[] = [];
    for (let i = 0; i < REQUESTS; i += 1) {
      const started = performance.now();
      const data = await graphql(port, token, query).catch(() => null);
      times.push(performance.now() - started);
      if (!data || !check(data)) errors += 1;
    }
    return median(times);
  };
  const meMs = await timed(ME, reader.token, (data) => data.me.id === reader.id);
  const chatsPageMs = await timed(CHATS_PAGE, reader.token, (data) => data.chats.totalCount > 0);

  const socket = await StreamClient.connect(`ws://127.0.0.1:${port}/graphql`, sender.token);
  const sends: number[] = [];
  const ends: number[] = [];
  for (let i = 0; i < SENDS; i += 1) {
    bench.upstream.enqueue({
      generated: { count: 3, text: () => `${nowMs().toFixed(3)};` },
      delayMs: 5,
    });
    const started = performance.now();
    const data = await graphql(port, sender.token, SEND, {
      input: { chatId, prompt: `growth prompt ${i}` },
    }).catch(() => null);
    sends.push(performance.now() - started);
    if (!data) {
      errors += 1;
      continue;
    }
    const doneAt = await socket.subscribeOnceToDone(data.sendMessage.assistantMessage.id);
    const stamps = doneAt.deltas.split(';').filter(Boolean).map(Number);
    if (stamps.length !== 3 || doneAt.status !== 'COMPLETE') errors += 1;
    else ends.push(doneAt.at - stamps[stamps.length - 1]!);
  }
  socket.close();
  return {
    figures: { meMs, chatsPageMs, sendMs: median(sends), replyEndMs: median(ends) },
    errors,
  };
}
