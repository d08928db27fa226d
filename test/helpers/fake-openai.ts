import { setTimeout as sleep } from 'node:timers/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { piecesOf } from './fake-upstream';

/** How the fake answers one chat-completion request. */
export interface FakeReply {
  /** Text pieces streamed one chunk each. */
  chunks?: string[];
  /** Pause before each chunk. */
  delayMs?: number;
  /** Destroy the connection after this many chunks (a provider dropping mid-stream). */
  dropAfterChunks?: number;
  /** Answer with this HTTP status and an OpenAI-shaped error body instead of a stream. */
  status?: number;
  /** With `status`: the retry-after header of the refusal (seconds, as HTTP says it). */
  retryAfter?: string;
  /** Accept the request and never answer (a provider that hangs). */
  hang?: boolean;
  /** Send this many chunks, then nothing more, keeping the connection open. */
  stallAfterChunks?: number;
  /** Wait this long after the headers before the first chunk (subscribers get ready). */
  initialDelayMs?: number;
  /** Wait for this before the first chunk (a benchmark releases all streams at once). */
  startGate?: Promise<void>;
  /** Stream `count` chunks whose text is made at send time (benchmarks put a timestamp in it). */
  generated?: { count: number; text: (index: number) => string };
  /** Written as is after this many chunks, then the reply ends (a broken or erroring stream). */
  rawAfterChunks?: { after: number; text: string };
  /**
   * Each event goes out in byte pieces of this size, with a pause between, so the client reads
   * events (and UTF-8 characters) cut anywhere.
   */
  writeInPiecesOf?: number;
  /** Reported in a final usage chunk when the client asked for it (stream_options.include_usage). */
  usage?: { prompt_tokens: number; completion_tokens: number };
  /**
   * Reasoning pieces, one chunk each before the text, as OpenAI-compatible servers stream a
   * reasoning model's thinking (OpenAI itself sends none in chat completions). They go in
   * `delta.reasoning_content` (DeepSeek's API, vLLM) unless `reasoningField` says
   * 'reasoning' (OpenRouter).
   */
  reasoning?: string[];
  reasoningField?: 'reasoning_content' | 'reasoning';
  /**
   * Tool calls, streamed after the text in OpenAI's shape: a first delta with the call's
   * index, id, type and function.name (arguments ''), then one delta per piece of
   * function.arguments; each delta is one chunk. The reply then finishes with 'tool_calls'.
   */
  toolCalls?: FakeToolCall[];
  /** The last chunk's finish_reason: 'tool_calls' when there are tool calls, else 'stop'. */
  finishReason?: 'stop' | 'length' | 'tool_calls' | 'content_filter';
}

export interface FakeToolCall {
  /** Defaults to `call_fake_<n>`. */
  id?: string;
  name: string;
  arguments: Record<string, unknown>;
  /**
   * The pieces of function.arguments, which must join into `arguments`' JSON; by default the
   * JSON cut every TOOL_ARGUMENTS_PIECE characters.
   */
  argumentPieces?: string[];
}

/** How finely tool-call arguments are cut by default. */
export const TOOL_ARGUMENTS_PIECE = 12;

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: {
    model: string;
    stream?: boolean;
    messages: Array<{ role: string; content: string }>;
    stream_options?: { include_usage?: boolean };
    [key: string]: unknown;
  };
  receivedAt: number;
  /** When the client closed or the response ended. */
  closedAt?: number;
  closedEarly?: boolean;
}

/**
 * A local HTTP server that speaks OpenAI's chat-completions protocol (SSE chunks and
 * `data: [DONE]`, or one JSON body when `stream` is false), so the real openai SDK runs
 * against it, faults included. Replies come from a queue, then from `defaultReply`.
 */
export class FakeOpenAi {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: FakeReply[] = [];
  defaultReply: FakeReply = {
    chunks: ['Hello', ' from', ' the', ' fake', ' model.'],
    usage: { prompt_tokens: 12, completion_tokens: 5 },
  };
  /** Non-streaming calls (title suggestions) answer with this text… */
  completionText = 'A Fine Title';
  /** …or with this HTTP error status when set… */
  completionStatus: number | null = null;
  /** …after this long. */
  completionDelayMs = 0;
  private readonly open = new Set<ServerResponse>();

  /** TCP connections clients opened to it (a keep-alive client reuses one). */
  connections = 0;

  private constructor(private readonly server: Server) {
    server.on('connection', () => (this.connections += 1));
  }

  static async start(): Promise<FakeOpenAi> {
    const ref: { fake?: FakeOpenAi } = {};
    const server = createServer((req, res) => void ref.fake!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ref.fake = new FakeOpenAi(server);
    return ref.fake;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  /** Queues replies for the next streaming requests, in order. */
  enqueue(...replies: FakeReply[]): void {
    this.queue.push(...replies);
  }

  /** Drops the replies still queued (a test that failed before its requests came). */
  clearQueue(): void {
    this.queue.length = 0;
  }

  streamingRequests(): RecordedRequest[] {
    return this.requests.filter((request) => request.body.stream);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const record: RecordedRequest = {
      path: req.url ?? '',
      headers: req.headers,
      body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'),
      receivedAt: Date.now(),
    };
    this.requests.push(record);
    this.open.add(res);
    res.on('close', () => {
      this.open.delete(res);
      record.closedAt = Date.now();
      record.closedEarly = !res.writableEnded;
    });

    if (!record.body.stream && this.completionDelayMs > 0) {
      await sleep(this.completionDelayMs);
    }
    if (!record.body.stream && this.completionStatus) {
      res.writeHead(this.completionStatus, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: { message: 'fake completion failure', type: 'server_error' } }),
      );
      return;
    }
    if (!record.body.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'chatcmpl-fake',
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: record.body.model,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: this.completionText },
              finish_reason: 'stop',
            },
          ],
          usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
        }),
      );
      return;
    }

    const reply = this.queue.shift() ?? this.defaultReply;
    if (reply.hang) return;
    if (reply.status) {
      res.writeHead(reply.status, {
        'content-type': 'application/json',
        ...(reply.retryAfter ? { 'retry-after': reply.retryAfter } : {}),
      });
      res.end(
        JSON.stringify({
          error: { message: `fake upstream error ${reply.status}`, type: 'server_error' },
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let writes = Promise.resolve();
    const send = (payload: unknown) => {
      const bytes = Buffer.from(`data: ${JSON.stringify(payload)}\n\n`, 'utf8');
      const size = reply.writeInPiecesOf;
      if (!size) return void res.write(bytes);
      for (let offset = 0; offset < bytes.length; offset += size) {
        const piece = bytes.subarray(offset, offset + size);
        writes = writes.then(async () => {
          if (!res.destroyed) res.write(piece);
          await sleep(1);
        });
      }
    };
    const base = {
      id: 'chatcmpl-fake',
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model: record.body.model,
    };
    send({
      ...base,
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
    });
    if (reply.initialDelayMs) await sleep(reply.initialDelayMs);
    if (reply.startGate) {
      // Empty deltas while held, as providers send while thinking: the client's idle timer
      // must not fire while a benchmark is still setting up.
      let open = false;
      void reply.startGate.then(() => (open = true));
      while (!open && !res.destroyed) {
        await Promise.race([reply.startGate, sleep(5_000)]);
        if (!open)
          send({ ...base, choices: [{ index: 0, delta: { content: '' }, finish_reason: null }] });
      }
    }
    const textCount = reply.generated?.count ?? reply.chunks?.length ?? 0;
    const pieceAt = (i: number) => (reply.generated ? reply.generated.text(i) : reply.chunks![i]!);
    // Reasoning, then text, then tool-call deltas: each is one chunk.
    const reasoningField = reply.reasoningField ?? 'reasoning_content';
    const reasoning = (reply.reasoning ?? []).map((piece) => ({ [reasoningField]: piece }));
    const toolDeltas = toolCallDeltas(reply.toolCalls ?? []);
    const count = reasoning.length + textCount + toolDeltas.length;
    const deltaAt = (i: number): Record<string, unknown> => {
      if (i < reasoning.length) return reasoning[i]!;
      if (i < reasoning.length + textCount) return { content: pieceAt(i - reasoning.length) };
      return toolDeltas[i - reasoning.length - textCount]!;
    };
    for (let i = 0; i < count; i += 1) {
      if (reply.dropAfterChunks !== undefined && i >= reply.dropAfterChunks) {
        // Let what was written reach the client, then cut the connection.
        await sleep(30);
        res.destroy();
        return;
      }
      if (reply.stallAfterChunks !== undefined && i >= reply.stallAfterChunks) return;
      if (reply.rawAfterChunks && i >= reply.rawAfterChunks.after) {
        await writes;
        res.end(reply.rawAfterChunks.text);
        return;
      }
      if (reply.delayMs) await sleep(reply.delayMs);
      if (res.destroyed) return;
      send({ ...base, choices: [{ index: 0, delta: deltaAt(i), finish_reason: null }] });
    }
    const finishReason = reply.finishReason ?? (reply.toolCalls?.length ? 'tool_calls' : 'stop');
    send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: finishReason }] });
    if (reply.usage && record.body.stream_options?.include_usage) {
      const { prompt_tokens, completion_tokens } = reply.usage;
      send({
        ...base,
        choices: [],
        usage: {
          prompt_tokens,
          completion_tokens,
          total_tokens: prompt_tokens + completion_tokens,
        },
      });
    }
    await writes;
    res.end('data: [DONE]\n\n');
  }

  async stop(): Promise<void> {
    for (const res of this.open) res.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** OpenAI's tool-call deltas: per call, its head (id, name), then its argument pieces. */
function toolCallDeltas(calls: FakeToolCall[]): Array<Record<string, unknown>> {
  return calls.flatMap((call, index) => {
    const pieces =
      call.argumentPieces ?? piecesOf(JSON.stringify(call.arguments), TOOL_ARGUMENTS_PIECE);
    return [
      {
        tool_calls: [
          {
            index,
            id: call.id ?? `call_fake_${index + 1}`,
            type: 'function',
            function: { name: call.name, arguments: '' },
          },
        ],
      },
      ...pieces.map((piece) => ({ tool_calls: [{ index, function: { arguments: piece } }] })),
    ];
  });
}
