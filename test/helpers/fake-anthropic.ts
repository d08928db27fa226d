import { setTimeout as sleep } from 'node:timers/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  EventWriter,
  FakeUpstream,
  piecesOf,
  playStream,
  type RecordedRequest,
  type StreamEvent,
  type StreamFaults,
} from './fake-upstream';

/** A tool call the fake model makes: one `tool_use` block. */
export interface FakeAnthropicToolUse {
  /** Defaults to `toolu_fake_<n>`. */
  id?: string;
  name: string;
  input: Record<string, unknown>;
  /**
   * The `partial_json` pieces, which must join into `input`'s JSON. By default an empty piece,
   * then the JSON cut every TOOL_INPUT_PIECE characters, as the API streams it.
   */
  inputPieces?: string[];
}

/**
 * How the fake answers one streaming Messages request. The content blocks go out in this
 * order: thinking, text, tool uses. A *chunk* (what the faults count) is one
 * `content_block_delta` event: a thinking piece, the signature, a text piece, a JSON piece.
 */
export interface FakeAnthropicReply extends StreamFaults {
  /**
   * Thinking pieces, one `thinking_delta` each, then one `signature_delta`, in a `thinking`
   * block. Sent only when the request turns thinking on (a `thinking` whose type is not
   * 'disabled'), as the API does.
   */
  thinking?: string[];
  /** The thinking block's signature; defaults to a fixed fake one. */
  signature?: string;
  /** Text pieces, one `text_delta` each, in a `text` block. */
  text?: string[];
  /** One `tool_use` block each, its input streamed as `input_json_delta` pieces. */
  toolUses?: FakeAnthropicToolUse[];
  /** `message_delta.delta.stop_reason`; 'tool_use' when there are tool uses, else 'end_turn'. */
  stopReason?: 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal';
  /** input_tokens goes out in `message_start`, output_tokens in `message_delta`. */
  usage?: { input_tokens: number; output_tokens: number };
  /**
   * After this many chunks, an `event: error` (type defaults to 'overloaded_error', the one
   * Anthropic documents for a busy API), then the response ends.
   */
  errorAfterChunks?: { after: number; type?: string; message?: string };
  /**
   * A `ping` event this often while the reply is open, a stall included: the API pings while
   * the model is busy, so a client's idle timer sees pings without content.
   */
  pingEveryMs?: number;
}

export interface AnthropicRequestBody {
  model: string;
  max_tokens: number;
  stream?: boolean;
  system?: string | Array<{ type: 'text'; text: string }>;
  messages: Array<{ role: 'user' | 'assistant'; content: string | Array<Record<string, unknown>> }>;
  tools?: Array<{ name: string; description?: string; input_schema: Record<string, unknown> }>;
  thinking?: { type: string; budget_tokens?: number; display?: string | null };
  [key: string]: unknown;
}

export type RecordedAnthropicRequest = RecordedRequest<AnthropicRequestBody>;

/** How finely a tool's input JSON is cut by default (the API sends a few characters at a time). */
export const TOOL_INPUT_PIECE = 12;

const DEFAULT_USAGE = { input_tokens: 12, output_tokens: 5 };
const DEFAULT_SIGNATURE = 'ZmFrZS10aGlua2luZy1zaWduYXR1cmU=';

/** The `error.type` Anthropic documents for each HTTP status. */
const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/**
 * A local HTTP server that speaks Anthropic's Messages API (`POST /v1/messages`): with
 * `stream: true`, the named SSE events Anthropic documents (message_start, content blocks
 * with their deltas, message_delta, message_stop, pings, and `event: error`); without, one
 * Message JSON. So the real @anthropic-ai/sdk runs against it, faults included. Give the SDK
 * `baseURL: fake.baseUrl` (it appends /v1/messages itself).
 * https://docs.anthropic.com/en/docs/build-with-claude/streaming
 */
export class FakeAnthropic extends FakeUpstream<AnthropicRequestBody, FakeAnthropicReply> {
  defaultReply: FakeAnthropicReply = {
    text: ['Hello', ' from', ' the', ' fake', ' model.'],
    usage: DEFAULT_USAGE,
  };
  /** Non-streaming calls (title suggestions) answer with this text… */
  completionText = 'A Fine Title';
  /** …or with this HTTP error status when set… */
  completionStatus: number | null = null;
  /** …after this long. */
  completionDelayMs = 0;
  private served = 0;

  private constructor() {
    super();
  }

  static async start(): Promise<FakeAnthropic> {
    const fake = new FakeAnthropic();
    await fake.listen();
    return fake;
  }

  /** What the SDK takes as `baseURL`. */
  get baseUrl(): string {
    return this.origin;
  }

  streamingRequests(): RecordedAnthropicRequest[] {
    return this.requests.filter((request) => request.body.stream);
  }

  protected async answer(
    record: RecordedAnthropicRequest,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const n = (this.served += 1);
    const refusal = refusalOf(record, req);
    if (refusal) return sendError(res, refusal.status, refusal.message);
    const { body } = record;

    if (!body.stream) {
      if (this.completionDelayMs > 0) await sleep(this.completionDelayMs);
      if (this.completionStatus) return sendError(res, this.completionStatus);
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_fake_${n}` });
      res.end(
        JSON.stringify({
          ...messageStart(n, body.model),
          content: [{ type: 'text', text: this.completionText, citations: null }],
          stop_reason: 'end_turn',
          usage: { input_tokens: 5, output_tokens: 3 },
        }),
      );
      return;
    }

    const reply = this.nextReply();
    if (reply.hang) return;
    if (reply.status) return sendError(res, reply.status);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'request-id': `req_fake_${n}`,
    });
    // The stream is open from here, even before its first event (Node would hold the headers).
    res.flushHeaders();
    const writer = new EventWriter(res, reply.writeInPiecesOf);
    const ping = reply.pingEveryMs
      ? setInterval(() => writer.write(sse('ping', { type: 'ping' })), reply.pingEveryMs)
      : null;
    // Until the connection closes, whatever ended the reply: pings outlive a stall.
    if (ping) res.once('close', () => clearInterval(ping));
    const usage = reply.usage ?? DEFAULT_USAGE;
    const thinks = body.thinking !== undefined && body.thinking.type !== 'disabled';
    const error = reply.errorAfterChunks;
    await playStream(res, writer, reply, {
      opening: [
        sse('message_start', {
          type: 'message_start',
          message: { ...messageStart(n, body.model), usage: { ...usage, output_tokens: 1 } },
        }),
        sse('ping', { type: 'ping' }),
      ],
      events: this.blocks(reply, thinks),
      closing: [
        sse('message_delta', {
          type: 'message_delta',
          delta: {
            stop_reason: reply.stopReason ?? (reply.toolUses?.length ? 'tool_use' : 'end_turn'),
            stop_sequence: null,
          },
          usage: { output_tokens: usage.output_tokens },
        }),
        sse('message_stop', { type: 'message_stop' }),
      ],
      errorAfter: error && {
        after: error.after,
        frame: sse('error', {
          type: 'error',
          error: {
            type: error.type ?? 'overloaded_error',
            message: error.message ?? 'Overloaded',
          },
        }),
      },
    });
  }

  /** The reply's content blocks, each as start, deltas (the chunks), stop. */
  private blocks(reply: FakeAnthropicReply, thinks: boolean): StreamEvent[] {
    const events: StreamEvent[] = [];
    let index = 0;
    const block = (start: Record<string, unknown>, deltas: Array<Record<string, unknown>>) => {
      events.push({
        frame: sse('content_block_start', {
          type: 'content_block_start',
          index,
          content_block: start,
        }),
        chunk: false,
      });
      for (const delta of deltas) {
        events.push({
          frame: sse('content_block_delta', { type: 'content_block_delta', index, delta }),
          chunk: true,
        });
      }
      events.push({
        frame: sse('content_block_stop', { type: 'content_block_stop', index }),
        chunk: false,
      });
      index += 1;
    };
    if (thinks && reply.thinking?.length) {
      block({ type: 'thinking', thinking: '' }, [
        ...reply.thinking.map((thinking) => ({ type: 'thinking_delta', thinking })),
        { type: 'signature_delta', signature: reply.signature ?? DEFAULT_SIGNATURE },
      ]);
    }
    if (reply.text?.length) {
      block(
        { type: 'text', text: '', citations: null },
        reply.text.map((text) => ({ type: 'text_delta', text })),
      );
    }
    for (const [n, tool] of (reply.toolUses ?? []).entries()) {
      const pieces = tool.inputPieces ?? [
        '',
        ...piecesOf(JSON.stringify(tool.input), TOOL_INPUT_PIECE),
      ];
      block(
        { type: 'tool_use', id: tool.id ?? `toolu_fake_${n + 1}`, name: tool.name, input: {} },
        pieces.map((partial_json) => ({ type: 'input_json_delta', partial_json })),
      );
    }
    return events;
  }
}

/** A Message's fields before any content (as `message_start` carries them). */
function messageStart(n: number, model: string) {
  return {
    id: `msg_fake_${n}`,
    type: 'message',
    role: 'assistant',
    model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
  };
}

/**
 * Refuses what the API refuses before any model work: no key, no version, no max_tokens. The
 * key may come as `x-api-key` or as `Authorization: Bearer` (what @anthropic-ai/sdk 1.x sends).
 */
function refusalOf(
  record: RecordedAnthropicRequest,
  req: IncomingMessage,
): { status: number; message: string } | null {
  if (req.method !== 'POST' || record.path.split('?')[0] !== '/v1/messages') {
    return { status: 404, message: `Not found: ${req.method} ${record.path}` };
  }
  if (!req.headers['x-api-key'] && !req.headers.authorization) {
    return { status: 401, message: 'x-api-key header is required' };
  }
  if (!req.headers['anthropic-version']) {
    return { status: 400, message: 'anthropic-version: header is required' };
  }
  if (typeof record.body.max_tokens !== 'number') {
    return { status: 400, message: 'max_tokens: Field required' };
  }
  return null;
}

/** Anthropic's error body: `{type: 'error', error: {type, message}}`, with the status. */
function sendError(res: ServerResponse, status: number, message?: string): void {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': 'req_fake_error' });
  res.end(
    JSON.stringify({
      type: 'error',
      error: { type, message: message ?? `fake upstream error ${status}` },
      request_id: 'req_fake_error',
    }),
  );
}

/** One named SSE event, framed as the API frames it. */
function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
