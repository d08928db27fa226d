import { setTimeout as sleep } from 'node:timers/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  EventWriter,
  FakeUpstream,
  playStream,
  type RecordedRequest,
  type StreamFaults,
} from './fake-upstream';

/** A function call the fake model makes: one `functionCall` part. */
export interface FakeGeminiFunctionCall {
  name: string;
  args: Record<string, unknown>;
  /** Sent only when given (the Gemini API leaves it out of most replies). */
  id?: string;
  /**
   * The part's `thoughtSignature`, which a client must send back with the call in the next
   * turn. The first call of a reply gets a fixed fake one unless this is given ('' for none).
   */
  thoughtSignature?: string;
}

/**
 * How the fake answers one streamGenerateContent request. Each thought piece and each text
 * piece is one SSE chunk (one `GenerateContentResponse` with one part); all function calls
 * go together in one more chunk, as Gemini sends parallel calls. A *chunk* is what the faults
 * count. The last chunk carries `finishReason` and the complete `usageMetadata`.
 */
export interface FakeGeminiReply extends StreamFaults {
  /**
   * Thought-summary pieces, parts with `thought: true`. Sent only when the request asks
   * (`generationConfig.thinkingConfig.includeThoughts`), as the API does.
   */
  thoughts?: string[];
  text?: string[];
  functionCalls?: FakeGeminiFunctionCall[];
  /** Defaults to 'STOP' (Gemini's reason after function calls too). */
  finishReason?:
    'STOP' | 'MAX_TOKENS' | 'SAFETY' | 'RECITATION' | 'OTHER' | 'MALFORMED_FUNCTION_CALL';
  /** totalTokenCount is their sum. */
  usage?: { promptTokenCount: number; candidatesTokenCount: number; thoughtsTokenCount?: number };
  /**
   * After this many chunks, an error chunk `data: {"error": {code, message, status}}` (code
   * 500 'INTERNAL' unless given), then the response ends.
   */
  errorAfterChunks?: { after: number; code?: number; status?: string; message?: string };
  /** Answer 200 with `promptFeedback.blockReason` and no candidates (a refused prompt). */
  blockReason?: 'SAFETY' | 'OTHER' | 'BLOCKLIST' | 'PROHIBITED_CONTENT';
}

export interface GeminiRequestBody {
  contents: Array<{ role?: string; parts: Array<Record<string, unknown>> }>;
  systemInstruction?: { role?: string; parts: Array<{ text?: string }> };
  tools?: Array<Record<string, unknown>>;
  toolConfig?: Record<string, unknown>;
  generationConfig?: {
    maxOutputTokens?: number;
    thinkingConfig?: { includeThoughts?: boolean; thinkingBudget?: number; thinkingLevel?: string };
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export type RecordedGeminiRequest = RecordedRequest<GeminiRequestBody>;

const DEFAULT_USAGE: NonNullable<FakeGeminiReply['usage']> = {
  promptTokenCount: 12,
  candidatesTokenCount: 5,
};
const DEFAULT_THOUGHT_SIGNATURE = 'ZmFrZS10aG91Z2h0LXNpZ25hdHVyZQ==';

/** `/{apiVersion}/models/{model}:{rpc}`, as the SDK builds it from a base URL. */
const CALL_PATH = /^\/([^/]+)\/models\/([^/:]+):(streamGenerateContent|generateContent)$/;

/** The `error.status` Google's APIs give each HTTP status. */
const ERROR_STATUSES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/**
 * A local HTTP server that speaks the Gemini API's generateContent as @google/genai calls it
 * with `httpOptions: { baseUrl: fake.baseUrl }`: `POST /{apiVersion}/models/{model}:
 * streamGenerateContent?alt=sse` answered with SSE chunks `data: <GenerateContentResponse>`,
 * and `:generateContent` answered with one. Any API version is accepted (the SDK sends 'v1'
 * unless given `apiVersion`); the key comes in `x-goog-api-key` (or `?key=`). So the real SDK
 * runs against it, faults included.
 * https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
 */
export class FakeGemini extends FakeUpstream<GeminiRequestBody, FakeGeminiReply> {
  defaultReply: FakeGeminiReply = {
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

  static async start(): Promise<FakeGemini> {
    const fake = new FakeGemini();
    await fake.listen();
    return fake;
  }

  /** What the SDK takes as `httpOptions.baseUrl`. */
  get baseUrl(): string {
    return this.origin;
  }

  streamingRequests(): RecordedGeminiRequest[] {
    return this.requests.filter((request) => request.path.includes(':streamGenerateContent'));
  }

  protected async answer(
    record: RecordedGeminiRequest,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const n = (this.served += 1);
    const url = new URL(record.path, this.origin);
    const call = CALL_PATH.exec(url.pathname);
    if (req.method !== 'POST' || !call) {
      return sendError(res, 404, `Requested entity was not found: ${req.method} ${url.pathname}`);
    }
    if (!req.headers['x-goog-api-key'] && !url.searchParams.has('key')) {
      return sendError(res, 403, "Method doesn't allow unregistered callers: give an API key.");
    }
    const [, , model, rpc] = call;
    const envelope = { modelVersion: model!, responseId: `fake-response-${n}` };

    if (rpc === 'generateContent') {
      if (this.completionDelayMs > 0) await sleep(this.completionDelayMs);
      if (this.completionStatus) return sendError(res, this.completionStatus);
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(
        JSON.stringify({
          candidates: [
            {
              content: { parts: [{ text: this.completionText }], role: 'model' },
              finishReason: 'STOP',
              index: 0,
            },
          ],
          usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 3, totalTokenCount: 8 },
          ...envelope,
        }),
      );
      return;
    }
    if (url.searchParams.get('alt') !== 'sse') {
      // Without alt=sse the API streams one JSON array instead; the SDK always asks for SSE.
      return sendError(res, 400, 'fake Gemini streams only with alt=sse');
    }

    const reply = this.nextReply();
    if (reply.hang) return;
    if (reply.status) return sendError(res, reply.status);
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
    });
    // The stream is open from here, even before its first chunk (Node would hold the headers).
    res.flushHeaders();
    const writer = new EventWriter(res, reply.writeInPiecesOf);
    const usage = reply.usage ?? DEFAULT_USAGE;
    const usageMetadata = {
      ...usage,
      totalTokenCount:
        usage.promptTokenCount + usage.candidatesTokenCount + (usage.thoughtsTokenCount ?? 0),
    };
    if (reply.blockReason) {
      writer.write(
        sse({ promptFeedback: { blockReason: reply.blockReason }, usageMetadata, ...envelope }),
      );
      await writer.flushed();
      res.end();
      return;
    }

    const thinks = record.body.generationConfig?.thinkingConfig?.includeThoughts === true;
    const chunks = partsOf(reply, thinks);
    // Each chunk carries the usage so far, as the API's do: only the last one is complete.
    const running = {
      promptTokenCount: usage.promptTokenCount,
      totalTokenCount: usage.promptTokenCount,
    };
    const frames = chunks.map((parts, i) => {
      const last = i === chunks.length - 1;
      return sse({
        candidates: [
          {
            content: { parts, role: 'model' },
            ...(last ? { finishReason: reply.finishReason ?? 'STOP' } : {}),
            index: 0,
          },
        ],
        usageMetadata: last ? usageMetadata : running,
        ...envelope,
      });
    });
    const error = reply.errorAfterChunks;
    const code = error?.code ?? 500;
    await playStream(res, writer, reply, {
      opening: [],
      events: frames.map((frame) => ({ frame, chunk: true })),
      closing: [],
      errorAfter: error && {
        after: error.after,
        frame: sse({
          error: {
            code,
            message: error.message ?? 'An internal error has occurred.',
            status: error.status ?? ERROR_STATUSES[code] ?? 'INTERNAL',
          },
        }),
      },
    });
  }
}

/** The parts of each chunk: one per thought or text piece, then all function calls in one. */
function partsOf(reply: FakeGeminiReply, thinks: boolean): Array<Array<Record<string, unknown>>> {
  const chunks: Array<Array<Record<string, unknown>>> = [];
  if (thinks) for (const text of reply.thoughts ?? []) chunks.push([{ text, thought: true }]);
  for (const text of reply.text ?? []) chunks.push([{ text }]);
  const calls = reply.functionCalls ?? [];
  if (calls.length > 0) {
    chunks.push(
      calls.map((call, i) => {
        const signature = call.thoughtSignature ?? (i === 0 ? DEFAULT_THOUGHT_SIGNATURE : '');
        return {
          functionCall: { ...(call.id ? { id: call.id } : {}), name: call.name, args: call.args },
          ...(signature ? { thoughtSignature: signature } : {}),
        };
      }),
    );
  }
  // A reply with nothing to say still ends with a chunk that carries its finishReason.
  if (chunks.length === 0) chunks.push([{ text: '' }]);
  return chunks;
}

/** Google's error body: `{error: {code, message, status}}`, with the HTTP status. */
function sendError(res: ServerResponse, code: number, message?: string): void {
  res.writeHead(code, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(
    JSON.stringify({
      error: {
        code,
        message: message ?? `fake upstream error ${code}`,
        status: ERROR_STATUSES[code] ?? (code >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION'),
      },
    }),
  );
}

/**
 * One SSE chunk, ended by a CRLF pair: SSE allows `\n\n`, `\r\r` and `\r\n\r\n`, and the SDK
 * splits on all three, so the fake sends the one a reader that knows only `\n\n` gets wrong.
 */
function sse(data: unknown): string {
  return `data: ${JSON.stringify(data)}\r\n\r\n`;
}
