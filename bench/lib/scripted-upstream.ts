import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A message of a chat-completions request, as the server under test wrote it. */
export interface UpstreamMessage {
  role: string;
  content: string | null;
  tool_call_id?: string;
  tool_calls?: Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
}

/** The fields of a chat-completions request that a script reads. */
export interface UpstreamRequest {
  model: string;
  stream?: boolean;
  messages: UpstreamMessage[];
  tools?: Array<{ type: string; function: { name: string } }>;
  stream_options?: { include_usage?: boolean };
}

/** One streamed answer: text pieces (a chunk each), then tool calls (OpenAI's deltas). */
export interface ScriptedReply {
  text?: string[];
  /** Pause before each text chunk. */
  delayMs?: number;
  toolCalls?: Array<{ id: string; name: string; arguments: Record<string, unknown> }>;
}

/**
 * Answers one streaming request from what it holds (the whole conversation the server sent,
 * tool results included). Throws when the request is not what it expects: the request is
 * then refused with a 400 (which the server does not retry) and the reason is kept.
 */
export type Script = (request: UpstreamRequest) => ScriptedReply;

/** How finely tool-call arguments are cut into deltas (a model streams them in pieces). */
const ARGUMENT_PIECE = 8;

/**
 * A fake OpenAI chat-completions upstream whose every streaming reply is chosen per request
 * by a script: unlike test/helpers/fake-openai.ts's queue, which hands replies out in arrival
 * order, concurrent replies of several steps each (model → tool calls → results → model) get
 * the step each of them is at. Speaks the same SSE shape (role chunk, deltas, finish_reason,
 * a usage chunk when asked, `[DONE]`); a non-streaming request (a chat's title) gets a title.
 * Runs in the bench's process, on the load core.
 */
export class ScriptedUpstream {
  /** Streaming requests answered (model steps). */
  streamed = 0;
  /** Non-streaming requests answered (titles). */
  completions = 0;
  /** Why each refused request was refused. */
  readonly refusals: string[] = [];
  /** TCP connections the server opened to it (a keep-alive client opens a few, once). */
  connections = 0;

  private constructor(
    private readonly server: Server,
    private readonly script: Script,
  ) {}

  static async start(script: Script): Promise<ScriptedUpstream> {
    const ref: { self?: ScriptedUpstream } = {};
    const server = createServer((req, res) => {
      ref.self!.handle(req, res).catch(() => res.destroy());
    });
    server.on('connection', () => (ref.self!.connections += 1));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ref.self = new ScriptedUpstream(server, script);
    return ref.self;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as UpstreamRequest;
    if (!body.stream) {
      this.completions += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'chatcmpl-bench',
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: body.model,
          choices: [
            { index: 0, message: { role: 'assistant', content: 'A Title' }, finish_reason: 'stop' },
          ],
          usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
        }),
      );
      return;
    }
    let reply: ScriptedReply;
    try {
      reply = this.script(body);
    } catch (error) {
      this.refusals.push((error as Error).message);
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: { message: 'unexpected request', type: 'invalid_request' } }),
      );
      return;
    }
    this.streamed += 1;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const base = {
      id: 'chatcmpl-bench',
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
    };
    const send = (delta: Record<string, unknown>, finish: string | null = null) =>
      res.write(
        `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`,
      );
    send({ role: 'assistant', content: '' });
    const text = reply.text ?? [];
    for (const piece of text) {
      if (reply.delayMs) await sleep(reply.delayMs);
      if (res.destroyed) return;
      send({ content: piece });
    }
    const calls = reply.toolCalls ?? [];
    calls.forEach((call, index) => {
      send({
        tool_calls: [
          { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } },
        ],
      });
      const json = JSON.stringify(call.arguments);
      for (let at = 0; at < json.length; at += ARGUMENT_PIECE) {
        send({
          tool_calls: [{ index, function: { arguments: json.slice(at, at + ARGUMENT_PIECE) } }],
        });
      }
    });
    send({}, calls.length > 0 ? 'tool_calls' : 'stop');
    if (body.stream_options?.include_usage) {
      const usage = { prompt_tokens: 40, completion_tokens: text.length + calls.length * 10 };
      res.write(
        `data: ${JSON.stringify({ ...base, choices: [], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } })}\n\n`,
      );
    }
    res.end('data: [DONE]\n\n');
  }
}
