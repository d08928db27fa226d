import { setTimeout as sleep } from 'node:timers/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The faults every fake upstream can play, each meaning what it means on FakeOpenAi. A *chunk*
 * is one piece of the reply's content (a text, thinking or tool-input piece), whatever
 * envelope events the provider wraps around it; the `…AfterChunks` faults count chunks, and
 * fire before the next chunk or, once all were sent, before the events that close the reply.
 */
export interface StreamFaults {
  /** Pause before each chunk. */
  delayMs?: number;
  /** Destroy the connection after this many chunks (a provider dropping mid-stream). */
  dropAfterChunks?: number;
  /** Answer with this HTTP status and the provider's error body instead of a stream. */
  status?: number;
  /** Accept the request and never answer (a provider that hangs). */
  hang?: boolean;
  /** Send this many chunks, then nothing more, keeping the connection open. */
  stallAfterChunks?: number;
  /** Wait this long after the opening events before the first chunk. */
  initialDelayMs?: number;
  /** Written as is after this many chunks, then the reply ends (a broken stream). */
  rawAfterChunks?: { after: number; text: string };
  /**
   * Each event goes out in byte pieces of this size, with a pause between, so the client reads
   * events (and UTF-8 characters) cut anywhere.
   */
  writeInPiecesOf?: number;
}

export interface RecordedRequest<Body> {
  method: string;
  /** Path and query, as the client sent them. */
  path: string;
  headers: IncomingMessage['headers'];
  body: Body;
  receivedAt: number;
  /** When the client closed or the response ended. */
  closedAt?: number;
  /** The connection closed before the response ended: the client left, or a fault cut it. */
  closedEarly?: boolean;
}

/** One event of a streamed reply, framed for the wire; `chunk` marks a content piece. */
export interface StreamEvent {
  frame: string;
  chunk: boolean;
}

/** A streamed reply: opened at once, then its events, then the events that close it. */
export interface StreamScript {
  opening: string[];
  events: StreamEvent[];
  closing: string[];
  /** The provider's own in-stream error, sent (then the reply ends) after this many chunks. */
  errorAfter?: { after: number; frame: string };
}

/**
 * Writes a streamed reply's events in order, cut into byte pieces when asked; each write
 * waits for the ones before it, so an event written while pieces are pending keeps its place.
 */
export class EventWriter {
  private writes = Promise.resolve();

  constructor(
    private readonly res: ServerResponse,
    private readonly pieceSize?: number,
  ) {}

  write(frame: string): void {
    const bytes = Buffer.from(frame, 'utf8');
    const size = this.pieceSize;
    if (!size) {
      this.writes = this.writes.then(() => void (this.writable() && this.res.write(bytes)));
      return;
    }
    for (let offset = 0; offset < bytes.length; offset += size) {
      const piece = bytes.subarray(offset, offset + size);
      this.writes = this.writes.then(async () => {
        if (this.writable()) this.res.write(piece);
        await sleep(1);
      });
    }
  }

  private writable(): boolean {
    return !this.res.destroyed && !this.res.writableEnded;
  }

  /** Resolves once everything written so far has been handed to the socket. */
  flushed(): Promise<void> {
    return this.writes;
  }
}

/** How long a dropped reply's last chunks get to reach the client before the cut. */
const DROP_GRACE_MS = 30;

/**
 * Plays `script` on `res` (whose headers are sent) with `faults`. Resolves when the reply has
 * ended, stalled, or been cut.
 */
export async function playStream(
  res: ServerResponse,
  writer: EventWriter,
  faults: StreamFaults,
  script: StreamScript,
): Promise<void> {
  for (const frame of script.opening) writer.write(frame);
  if (faults.initialDelayMs) await sleep(faults.initialDelayMs);
  let sent = 0;
  // True when the reply must stop here: a fault fired (or the client left).
  const faultFires = async (): Promise<boolean> => {
    if (res.destroyed) return true;
    if (faults.dropAfterChunks !== undefined && sent >= faults.dropAfterChunks) {
      await writer.flushed();
      // Let what was written reach the client, then cut the connection.
      await sleep(DROP_GRACE_MS);
      res.destroy();
      return true;
    }
    if (faults.stallAfterChunks !== undefined && sent >= faults.stallAfterChunks) return true;
    if (faults.rawAfterChunks && sent >= faults.rawAfterChunks.after) {
      await writer.flushed();
      res.end(faults.rawAfterChunks.text);
      return true;
    }
    if (script.errorAfter && sent >= script.errorAfter.after) {
      writer.write(script.errorAfter.frame);
      await writer.flushed();
      res.end();
      return true;
    }
    return false;
  };
  for (const event of script.events) {
    if (event.chunk) {
      if (await faultFires()) return;
      if (faults.delayMs) await sleep(faults.delayMs);
      if (res.destroyed) return;
      sent += 1;
    }
    writer.write(event.frame);
  }
  if (await faultFires()) return;
  for (const frame of script.closing) writer.write(frame);
  await writer.flushed();
  res.end();
}

/**
 * The HTTP side shared by the fakes: listens on port 0 at 127.0.0.1, reads and records each
 * request (JSON body), notes when the client leaves, and closes whatever is still open on
 * `stop()`. Replies for streaming requests come from a queue, then from `defaultReply`.
 */
export abstract class FakeUpstream<Body, Reply> {
  readonly requests: RecordedRequest<Body>[] = [];
  abstract defaultReply: Reply;
  private readonly queue: Reply[] = [];
  private readonly open = new Set<ServerResponse>();
  private server: Server | null = null;

  protected async listen(): Promise<void> {
    const server = createServer((req, res) => void this.receive(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
  }

  /** `http://127.0.0.1:<port>`, with no path. */
  get origin(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** Queues replies for the next streaming requests, in order. */
  enqueue(...replies: Reply[]): void {
    this.queue.push(...replies);
  }

  /** Drops the replies still queued (a test that failed before its requests came). */
  clearQueue(): void {
    this.queue.length = 0;
  }

  protected nextReply(): Reply {
    return this.queue.shift() ?? this.defaultReply;
  }

  /** Answers one recorded request. */
  protected abstract answer(
    record: RecordedRequest<Body>,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void>;

  private async receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: Body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Body;
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('fake upstream: body is not JSON');
      return;
    }
    const record: RecordedRequest<Body> = {
      method: req.method ?? 'GET',
      path: req.url ?? '',
      headers: req.headers,
      body,
      receivedAt: Date.now(),
    };
    this.requests.push(record);
    this.open.add(res);
    res.on('close', () => {
      this.open.delete(res);
      record.closedAt = Date.now();
      record.closedEarly = !res.writableEnded;
    });
    await this.answer(record, req, res);
  }

  async stop(): Promise<void> {
    for (const res of this.open) res.destroy();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Splits `text` into pieces of `size` characters (the last may be shorter). */
export function piecesOf(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let offset = 0; offset < text.length; offset += size) {
    pieces.push(text.slice(offset, offset + size));
  }
  return pieces;
}
