import http from 'node:http';
import https from 'node:https';

const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

const abortError = (signal: AbortSignal) =>
  signal.reason ?? new DOMException('This operation was aborted', 'AbortError');

/**
 * The `fetch` the openai SDK is given: node:http with keep-alive underneath, and a plain
 * ReadableStream fed from the response. Node 20's global fetch (undici) reads a streamed reply
 * through several web-stream layers; per token that was ~12% of the server's CPU in
 * `npm run bench -- --only token`. Anything beyond a URL with a text or byte body goes to the
 * global fetch, unchanged. Failures look like fetch's (TypeError, or the abort reason), so the
 * SDK classifies them as it always does.
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
      const status = response.statusCode ?? 0;
      const responseHeaders = new Headers();
      for (let i = 0; i < response.rawHeaders.length; i += 2) {
        responseHeaders.append(response.rawHeaders[i]!, response.rawHeaders[i + 1]!);
      }
      const hasBody = status !== 204 && status !== 304 && init.method !== 'HEAD';
      const stream = hasBody
        ? new ReadableStream<Uint8Array>({
            start(controller) {
              response.on('data', (chunk: Buffer) => {
                controller.enqueue(chunk);
                if ((controller.desiredSize ?? 1) <= 0) response.pause();
              });
              response.once('end', () => {
                stopListening();
                controller.close();
              });
              response.once('error', (error) => {
                stopListening();
                controller.error(signal?.aborted ? abortError(signal) : error);
              });
            },
            pull() {
              response.resume();
            },
            cancel() {
              stopListening();
              response.destroy();
            },
          })
        : null;
      if (!hasBody) {
        stopListening();
        response.resume();
      }
      resolve(
        new Response(stream, {
          status,
          statusText: response.statusMessage ?? '',
          headers: responseHeaders,
        }),
      );
    });
    request.end(body ?? undefined);
  });
};
