import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';

const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

const abortError = (signal: AbortSignal) =>
  signal.reason ?? new DOMException('This operation was aborted', 'AbortError');

/** Responses of httpFetch, with the Node stream their body comes from (see nodeBodyOf). */
const nodeBodies = new WeakMap<Response, { stream: IncomingMessage; use: 'node' | 'web' | null }>();

/**
 * The body of a response of httpFetch as Node's own stream, for a reader that needs no web
 * stream around it (the token path: see OpenAiModelClient.stream). Null when the response came
 * from the global fetch or its body was already read as a web stream; once taken here, the
 * web body stays empty.
 */
export function nodeBodyOf(response: Response): IncomingMessage | null {
  const body = nodeBodies.get(response);
  if (!body || body.use === 'web') return null;
  body.use = 'node';
  return body.stream;
}

/**
 * The `fetch` the openai SDK is given: node:http with keep-alive underneath. Node 20's global
 * fetch (undici) reads a streamed reply through several web-stream layers, a large share of
 * the server's CPU per token (figures: bench/FINDINGS.md, “Behind the code's comments”). The response's web body is made
 * only when someone reads it (the SDK does for error bodies and plain completions); a streamed
 * reply is read from Node's stream itself (nodeBodyOf). Anything beyond a URL with a text or
 * byte body goes to the global fetch, unchanged. Failures look like fetch's (TypeError, or the
 * abort reason), so the SDK classifies them as it always does.
 */
export const httpFetch: typeof fetch = async (input, init = {}) => {
  const plainInput = typeof input === 'string' || input instanceof URL;
  const body = init.body;
  const plainBody =
    body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
  if (!plainInput || !plainBody) return fetch(input, init);

  const url = new URL(String(input));
  const transport = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : null;
  if (!transport) return fetch(input, init);
  const signal = init.signal ?? undefined;
  if (signal?.aborted) throw abortError(signal);

  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, key) => (headers[key] = value));
  if (body !== undefined && body !== null)
    headers['content-length'] = String(Buffer.byteLength(body));

  return new Promise<Response>((resolve, reject) => {
    const request = transport.request(url, {
      method: init.method ?? 'GET',
      headers,
      agent: agents[url.protocol as keyof typeof agents],
    });
    const onAbort = () => request.destroy(abortError(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    const stopListening = () => signal?.removeEventListener('abort', onAbort);

    request.once('error', (error) => {
      stopListening();
      reject(
        signal?.aborted ? abortError(signal) : new TypeError('fetch failed', { cause: error }),
      );
    });
    request.once('response', (response) => {
      // The signal keeps aborting the body, whoever reads it, until it has ended.
      response.once('close', stopListening);
      const status = response.statusCode ?? 0;
      const responseHeaders = new Headers();
      for (let i = 0; i < response.rawHeaders.length; i += 2) {
        responseHeaders.append(response.rawHeaders[i]!, response.rawHeaders[i + 1]!);
      }
      const hasBody = status !== 204 && status !== 304 && init.method !== 'HEAD';
      if (!hasBody) response.resume();
      const owner = { stream: response, use: null as 'node' | 'web' | null };
      const webBody = hasBody ? webStreamOf(owner, signal) : null;
      const result = new Response(webBody, {
        status,
        statusText: response.statusMessage ?? '',
        headers: responseHeaders,
      });
      if (hasBody) nodeBodies.set(result, owner);
      resolve(result);
    });
    request.end(body ?? undefined);
  });
};

/**
 * A web stream over the response, wired on the first read (highWaterMark 0: nothing is pulled
 * before someone asks), so a body read through nodeBodyOf has no second reader.
 */
function webStreamOf(
  owner: { stream: IncomingMessage; use: 'node' | 'web' | null },
  signal: AbortSignal | undefined,
): ReadableStream<Uint8Array> {
  const response = owner.stream;
  // A body ends once: a connection that drops may still emit 'end' after its 'error', and a
  // reader that cancels has closed the stream already.
  let ended = false;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (owner.use === 'web') return void response.resume();
        if (owner.use === 'node') return controller.error(new TypeError('Body is unusable'));
        owner.use = 'web';
        response.on('data', (chunk: Buffer) => {
          if (ended) return;
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 1) <= 0) response.pause();
        });
        response.once('end', () => {
          if (ended) return;
          ended = true;
          controller.close();
        });
        response.once('error', (error) => {
          if (ended) return;
          ended = true;
          // As fetch says it: a body cut off mid-way is TypeError('terminated').
          controller.error(
            signal?.aborted ? abortError(signal) : new TypeError('terminated', { cause: error }),
          );
        });
      },
      cancel() {
        ended = true;
        response.destroy();
      },
    },
    { highWaterMark: 0 },
  );
}
