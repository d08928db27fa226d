import autocannon from 'autocannon';
import { medianRun } from './stats';

export interface HttpLoadResult {
  rps: number;
  p99: number;
  requests: number;
  errors: number;
  non2xx: number;
  mismatches: number;
}

export interface HttpLoadOptions {
  url: string;
  body: string;
  /** Bodies sent in turn instead of `body` (a storm of different users signing in). */
  bodies?: string[];
  headers?: Record<string, string>;
  connections: number;
  seconds: number;
  /** The exact body every response must have (checked on every response). */
  expectBody?: string;
  /** Or a check each response body must pass (bodies that differ, such as new tokens). */
  verifyBody?: (body: string) => boolean;
}

export async function once(options: HttpLoadOptions): Promise<HttpLoadResult> {
  let next = 0;
  const bodies = options.bodies;
  const result = await autocannon({
    ...(bodies
      ? {
          requests: [
            {
              setupRequest: (request: autocannon.Request) => ({
                ...request,
                body: bodies[next++ % bodies.length]!,
              }),
            },
          ],
        }
      : {}),
    url: options.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: options.body,
    connections: options.connections,
    duration: options.seconds,
    ...(options.expectBody ? { expectBody: options.expectBody } : {}),
    ...(options.verifyBody ? { verifyBody: options.verifyBody as (body: unknown) => boolean } : {}),
  });
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    mismatches: (result as unknown as { mismatches?: number }).mismatches ?? 0,
  };
}

/** Warm up, then 3 runs (1 in quick mode); the median run by req/s. */
export async function measureHttp(
  options: HttpLoadOptions,
  quick: boolean,
): Promise<HttpLoadResult & { runs: HttpLoadResult[] }> {
  await once({ ...options, seconds: quick ? 0.5 : 2 });
  const runs: HttpLoadResult[] = [];
  for (let i = 0; i < (quick ? 1 : 3); i += 1)
    runs.push(await once({ ...options, seconds: quick ? 1.5 : options.seconds }));
  const median = medianRun(runs, (run) => run.rps);
  const failures = runs.reduce((n, run) => n + run.errors + run.non2xx + run.mismatches, 0);
  return { ...median, errors: failures, runs };
}

/** Sends one request and returns the body, to pin down `expectBody`. */
export async function fetchBody(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await response.text();
  if (response.status !== 200 || text.includes('"errors"'))
    throw new Error(`probe failed (${response.status}): ${text}`);
  return text;
}
