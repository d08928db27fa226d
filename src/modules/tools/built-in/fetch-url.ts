import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
import { z } from 'zod';
import { builtInTool } from './built-in-tool';

const MAX_REDIRECTS = 3;
const MAX_BYTES = 1024 * 1024;
const FETCH_TIMEOUT_MS = 10_000;
/** What the model gets of a page, at most. */
const MAX_TEXT_CHARS = 12_000;
const TEXT_TYPES = /^(text\/|application\/(json|xml|xhtml\+xml|ld\+json))/i;

/**
 * Reads a web page for the model. What it protects against: the model (or a page it read)
 * steering the server at its own network — loopback, private, link-local and cloud metadata
 * addresses (169.254.169.254). request-filtering-agent checks the address each connection
 * actually uses, after DNS, so a name that resolves inside, or a redirect there, is refused
 * too; redirects are followed here, each through the same agent. Only http and https, no
 * credentials in the URL, a time and size cap. `allowAddresses` (FETCH_URL_ALLOW_HOSTS) lets an
 * operator open addresses that are not public (a test's page server, an intranet).
 */
export const fetchUrl = (requiresApproval: boolean, allowAddresses: string[] = []) => {
  const agents = {
    'http:': new RequestFilteringHttpAgent({ allowIPAddressList: allowAddresses }),
    'https:': new RequestFilteringHttpsAgent({ allowIPAddressList: allowAddresses }),
  };
  return builtInTool({
    name: 'fetch_url',
    description:
      'Reads a public web page (http or https) and returns its text, cut at 12,000 characters.',
    schema: z.object({ url: z.string().max(2048).describe('An absolute http(s) URL.') }),
    requiresApproval,
    run: async ({ url }, { signal }) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        return { result: 'That is not a URL.', isError: true };
      }
      const deadline = AbortSignal.any([signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)]);
      for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
        if (target.protocol !== 'http:' && target.protocol !== 'https:')
          return { result: 'Only http and https URLs can be read.', isError: true };
        if (target.username || target.password)
          return { result: 'URLs with credentials are not read.', isError: true };
        let response: IncomingMessage;
        try {
          response = await get(target, agents[target.protocol], deadline);
        } catch (error) {
          signal.throwIfAborted();
          return { result: refusal(error), isError: true };
        }
        const location = response.headers.location;
        if (
          response.statusCode &&
          response.statusCode >= 300 &&
          response.statusCode < 400 &&
          location
        ) {
          response.destroy();
          target = new URL(location, target);
          continue;
        }
        return read(response, deadline);
      }
      return { result: `More than ${MAX_REDIRECTS} redirects.`, isError: true };
    },
  });
};

function get(url: URL, agent: http.Agent, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).get(url, {
      agent,
      signal,
      headers: { 'user-agent': 'Palaver fetch_url', accept: 'text/html, text/plain, */*;q=0.5' },
    });
    request.once('response', resolve);
    request.once('error', reject);
  });
}

async function read(response: IncomingMessage, signal: AbortSignal) {
  const status = response.statusCode ?? 0;
  const type = String(response.headers['content-type'] ?? '');
  if (status >= 400) {
    response.destroy();
    return { result: `The page answered HTTP ${status}.`, isError: true };
  }
  if (type && !TEXT_TYPES.test(type)) {
    response.destroy();
    return { result: `Not text (${type.slice(0, 80)}).`, isError: true };
  }
  if (Number(response.headers['content-length'] ?? 0) > MAX_BYTES) {
    response.destroy();
    return { result: 'The page is larger than 1 MiB.', isError: true };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response) {
      signal.throwIfAborted();
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= MAX_BYTES) break;
    }
  } finally {
    response.destroy();
  }
  const body = Buffer.concat(chunks).subarray(0, MAX_BYTES).toString('utf8');
  const text = /html/i.test(type) ? textOfHtml(body) : body;
  return {
    result:
      text.length > MAX_TEXT_CHARS ? `${text.slice(0, MAX_TEXT_CHARS)}\n[cut]` : text || '(empty)',
    isError: false,
  };
}

/** Elements whose content is not text a reader sees. */
const HIDDEN = ['script', 'style', 'noscript'];

/**
 * The readable text of a page: scripts, styles and tags out, whitespace folded. One pass with
 * indexOf, each search starting where the last ended, so its time grows with the page, never
 * with its square: a page of a million unclosed `<` (or `<script`s) cannot stall the server,
 * as the regular expressions this replaces did.
 */
export function textOfHtml(html: string): string {
  const lower = html.toLowerCase();
  const pieces: string[] = [];
  let at = 0;
  while (at < html.length) {
    const open = html.indexOf('<', at);
    if (open < 0) {
      pieces.push(html.slice(at));
      break;
    }
    pieces.push(html.slice(at, open), ' ');
    const hidden = HIDDEN.find((name) => lower.startsWith(name, open + 1));
    if (hidden) {
      const close = lower.indexOf(`</${hidden}`, open + 1);
      if (close < 0) break; // never closed: the rest is the hidden element's
      const end = html.indexOf('>', close);
      if (end < 0) break;
      at = end + 1;
      continue;
    }
    const end = html.indexOf('>', open + 1);
    if (end < 0) break; // a tag never closed: nothing after it is text
    at = end + 1;
  }
  return pieces
    .join('')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

function refusal(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  if (/is not allowed/i.test(message)) return 'That address is not public; it is not read.';
  if ((error as { name?: string })?.name === 'TimeoutError' || /aborted/i.test(message))
    return 'The page took too long.';
  return 'The page could not be reached.';
}
