import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { rssBytes } from '../../bench/lib/processes';

/**
 * What one hostile client does to a running server, as plain functions over HTTP and raw
 * graphql-ws frames, shared by the memory tests (test/memory.hostile.test.ts) and the
 * `hostile` benchmark case. Each returns what the server answered, so a caller can check that
 * every attempt was refused the way the contract says, besides what it cost.
 */

export interface SocketTarget {
  wsUrl: string;
  accessToken: string;
}

/**
 * The inspector's address in a server started with `NODE_OPTIONS=--inspect=127.0.0.1:0`, read
 * from the line Node prints on stderr.
 */
export function inspectorUrlOf(lines: string[]): string {
  for (const line of lines) {
    const url = /Debugger listening on (ws:\/\/\S+)/.exec(line)?.[1];
    if (url) return url;
  }
  throw new Error('the server has no inspector: start it with NODE_OPTIONS=--inspect=127.0.0.1:0');
}

/** Runs a full garbage collection in the server, over the inspector (Chrome DevTools Protocol). */
export async function forceGc(inspectorUrl: string): Promise<void> {
  const ws = new WebSocket(inspectorUrl);
  try {
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (data) => {
        const reply = JSON.parse(String(data)) as { id?: number; error?: unknown };
        if (reply.id !== 1) return;
        if (reply.error) reject(new Error(JSON.stringify(reply.error)));
        else resolve();
      });
      ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
    });
  } finally {
    ws.close();
  }
}

/**
 * What the server keeps, not what it last used: RSS after `idleMs` of rest and, given the
 * inspector, a full collection (V8 otherwise gives memory back whenever it likes, so RSS read
 * without one swings by 100 MB on a cache that is in fact bounded).
 */
export async function rssAfterIdle(
  pid: number,
  idleMs: number,
  inspectorUrl?: string,
): Promise<number> {
  await sleep(idleMs);
  if (inspectorUrl) {
    await forceGc(inspectorUrl);
    await sleep(200);
  }
  return rssBytes(pid);
}

type Frame = { id?: string; type: string; payload?: unknown };

/** A graphql-transport-ws socket after its connection_ack, reading frames one by one. */
export class RawSocket {
  private readonly frames: Frame[] = [];
  private waiting: (() => void) | null = null;
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame);
      this.waiting?.();
    });
    this.closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
  }

  static async open(target: SocketTarget): Promise<RawSocket> {
    const ws = new WebSocket(target.wsUrl, 'graphql-transport-ws');
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const socket = new RawSocket(ws);
    ws.send(
      JSON.stringify({
        type: 'connection_init',
        payload: { authorization: `Bearer ${target.accessToken}` },
      }),
    );
    const ack = await socket.next();
    if (ack.type !== 'connection_ack') throw new Error(`no connection_ack: ${JSON.stringify(ack)}`);
    return socket;
  }

  subscribe(id: string, query: string, variables?: Record<string, unknown>): void {
    this.ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
  }

  async next(timeoutMs = 10_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (Date.now() > deadline) throw new Error('no frame from the server in time');
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        setTimeout(resolve, 50);
      });
      this.waiting = null;
    }
    return this.frames.shift()!;
  }

  /** Runs one operation to its end: its error code, or 'OK' when it completed with data. */
  async run(id: string, query: string): Promise<string> {
    this.subscribe(id, query);
    let outcome = 'OK';
    for (;;) {
      const frame = await this.next();
      if (frame.id !== id) continue;
      if (frame.type === 'error') {
        const [first] = frame.payload as { extensions?: { code?: string } }[];
        return first?.extensions?.code ?? 'NO_CODE';
      }
      if (frame.type === 'next') {
        const errors = (frame.payload as { errors?: { extensions?: { code?: string } }[] }).errors;
        if (errors?.length) outcome = errors[0]!.extensions?.code ?? 'NO_CODE';
      }
      if (frame.type === 'complete') return outcome;
    }
  }

  /** Stops reading at the TCP level: the server's writes pile up in its buffers. */
  freeze(): void {
    (this.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  }

  thaw(): void {
    (this.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  }

  close(): void {
    this.ws.terminate();
  }
}

const tally = (codes: string[]) =>
  codes.reduce<Record<string, number>>((counts, code) => {
    counts[code] = (counts[code] ?? 0) + 1;
    return counts;
  }, {});

/** Runs `count` operations one after another on one socket; tallies how each ended. */
async function runOnOneSocket(
  target: SocketTarget,
  count: number,
  queryOf: (index: number) => string,
): Promise<Record<string, number>> {
  const socket = await RawSocket.open(target);
  const codes: string[] = [];
  try {
    for (let d = 0; d < count; d += 1) codes.push(await socket.run(String(d), queryOf(d)));
  } finally {
    socket.close();
  }
  return tally(codes);
}

/**
 * Distinct documents of thousands of aliases (97 KB with 5,800), each refused by the query
 * limits, on one authenticated socket. They once stayed parsed in the socket's document cache:
 * +1.0 GB RSS for 200 of them.
 */
export function sendAliasFloods(
  target: SocketTarget,
  options: { documents: number; aliases: number },
): Promise<Record<string, number>> {
  const fields = Array.from({ length: options.aliases }, (_, i) => `a${i}: __typename`).join(' ');
  return runOnOneSocket(target, options.documents, (d) => `query Flood${d} { ${fields} }`);
}

/**
 * Distinct documents that pass every limit but are long (one alias of `length` characters):
 * a cache bounded by entries, not bytes, keeps a thousand of them.
 */
export function sendLongAcceptedDocuments(
  target: SocketTarget,
  options: { documents: number; length: number },
): Promise<Record<string, number>> {
  const padding = 'x'.repeat(options.length);
  return runOnOneSocket(target, options.documents, (d) => `{ a${d}_${padding}: __typename }`);
}

async function postAll(
  httpUrl: string,
  bodies: () => string,
  requests: number,
): Promise<Record<string, number>> {
  const codes: string[] = [];
  for (let r = 0; r < requests; r += 1) {
    const response = await fetch(httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: bodies(),
    });
    const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    codes.push(body.errors?.[0]?.extensions?.code ?? 'OK');
  }
  return tally(codes);
}

/** `{ __typename }` with `bytes` of unique variables the operation does not declare. */
export function postUndeclaredVariables(
  httpUrl: string,
  options: { requests: number; bytes: number },
): Promise<Record<string, number>> {
  return postAll(
    httpUrl,
    () =>
      JSON.stringify({
        query: '{ __typename }',
        variables: { junk: randomBytes(options.bytes / 2).toString('hex') },
      }),
    options.requests,
  );
}

/** One document of `operations` anonymous-looking operations (600 KB with 20,000). */
export function manyOperationsDocument(operations: number): string {
  return Array.from({ length: operations }, (_, i) => `query Q${i} { __typename }`).join('\n');
}

/**
 * `sockets` sockets that each ask for `subscriptions` replays of one long reply, then stop
 * reading for `frozenMs`, then read again. Resolves with each socket's close code, or 0 for one
 * still open `graceMs` after it read again. (A paused socket sees neither the server's close
 * frame nor its cut-off until it reads, so the codes are read after the thaw.)
 */
export async function freezeReaders(
  target: SocketTarget,
  messageId: string,
  options: {
    sockets: number;
    subscriptions: number;
    frozenMs: number;
    graceMs: number;
    /** Runs at the end of the freeze, before the sockets read again. */
    whileFrozen?: () => Promise<void>;
  },
): Promise<number[]> {
  const query =
    'subscription Replay($id: ID!) { messageStream(messageId: $id) { delta done message { content } } }';
  const sockets = await Promise.all(
    Array.from({ length: options.sockets }, () => RawSocket.open(target)),
  );
  for (const socket of sockets) {
    socket.freeze();
    for (let i = 0; i < options.subscriptions; i += 1) {
      socket.subscribe(String(i), query, { id: messageId });
    }
  }
  await sleep(options.frozenMs);
  await options.whileFrozen?.();
  return Promise.all(
    sockets.map((socket) => {
      socket.thaw();
      return Promise.race([socket.closed, sleep(options.graceMs).then(() => 0)]).finally(() =>
        socket.close(),
      );
    }),
  );
}
