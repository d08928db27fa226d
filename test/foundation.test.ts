import { setTimeout as sleep } from 'node:timers/promises';
import { readFile } from 'node:fs/promises';
import { renderCurrentSchema } from '../src/app';
import { SCHEMA_FILE } from '../src/graphql/schema-file';
import { LlmProvidersDocument, MeDocument } from './gql/graphql';
import { registerUser } from './helpers/accounts';
import { errorCode } from './helpers/http-client';
import { TestApp, useTestApp } from './helpers/test-app';
import { sendMessage } from './helpers/chat';

async function pollStatus(url: string, want: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    last = await fetch(url).then(
      (r) => r.status,
      () => 0,
    );
    if (last === want) return last;
    await sleep(250);
  }
  return last;
}

describe('foundation: one server for HTTP, WebSocket and the IDE', () => {
  const app = useTestApp();

  it('should answer /healthz with {"status":"ok"} and /readyz with 200', async () => {
    const health = await fetch(`${app.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect((await fetch(`${app.baseUrl}/readyz`)).status).toBe(200);
  });

  it('should answer llmProviders over HTTP from configuration', async () => {
    const data = await app.http().data(LlmProvidersDocument);
    expect(data.llmProviders).toEqual([
      {
        llm: 'OPEN_AI',
        models: ['gpt-test', 'gpt-test-mini'],
        defaultModel: 'gpt-test',
        modelInfo: ['gpt-test', 'gpt-test-mini'].map((id) => ({
          id,
          vision: false,
          tools: true,
          reasoning: false,
          contextTokens: null,
        })),
      },
      {
        llm: 'ECHO',
        models: ['echo-1'],
        defaultModel: 'echo-1',
        modelInfo: [
          { id: 'echo-1', vision: false, tools: false, reasoning: false, contextTokens: null },
        ],
      },
    ]);
  });

  it('should answer llmProviders over graphql-ws on the same port and path', async () => {
    const user = await registerUser(app);
    const socket = app.socket(user.auth.accessToken);
    try {
      const result = await socket.execute(LlmProvidersDocument);
      expect(result.errors).toBeUndefined();
      expect(result.data?.llmProviders.map((p) => p.llm)).toEqual(['OPEN_AI', 'ECHO']);
    } finally {
      await socket.dispose();
    }
  });

  it('should show a GraphQL IDE to a browser that loads nothing from outside this server', async () => {
    const page = await fetch(app.url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('GraphQL IDE');
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(sources.length).toBeGreaterThanOrEqual(5);
    for (const source of sources) {
      expect(source.startsWith('/')).toBe(true);
      const asset = await fetch(`${app.baseUrl}${source}`);
      expect(asset.status).toBe(200);
      const body = await asset.text();
      // No script or style fetches a remote host at load time.
      expect(body).not.toMatch(/(?:import|@import|fetch)\s*\(?\s*["']https?:\/\//);
    }
  });

  it('should refuse a GET query without a CSRF-safe header, as Apollo does', async () => {
    const url = `${app.url}?query=${encodeURIComponent('{ llmProviders { llm } }')}`;
    expect((await fetch(url)).status).toBe(400);
    const allowed = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
    expect(allowed.status).toBe(200);
  });

  it('should mask an unexpected error to INTERNAL_SERVER_ERROR with a request id and no internals', async () => {
    const user = await registerUser(app);
    const spy = jest.spyOn(app.app.models.User, 'findById').mockImplementation(() => {
      throw new Error('secret internal detail: connection string mongodb://admin:pw@db');
    });
    try {
      const result = await app.http().request(MeDocument, {}, { token: user.auth.accessToken });
      expect(errorCode(result)).toBe('INTERNAL_SERVER_ERROR');
      expect(JSON.stringify(result.errors)).not.toContain('secret');
      expect(result.errors?.[0]?.extensions?.stacktrace).toBeUndefined();
      expect(result.errors?.[0]?.extensions?.requestId).toBe(result.headers.get('x-request-id'));

      const socket = app.socket(user.auth.accessToken);
      const overSocket = await socket.execute(MeDocument);
      await socket.dispose();
      expect(overSocket.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(JSON.stringify(overSocket.errors)).not.toContain('secret');
    } finally {
      spy.mockRestore();
    }
  });

  it('should refuse a query deeper than the limit with QUERY_TOO_COMPLEX on HTTP and WebSocket', async () => {
    // Introspection has a limit of its own, the depth of the standard introspection query (15).
    const ofTypes = 14;
    const deep = `{ __schema { types { fields { type { ${'ofType { '.repeat(ofTypes)}name ${'} '.repeat(ofTypes)}} } } } }`;
    const result = await app.http().raw(deep);
    expect(errorCode(result)).toBe('QUERY_TOO_COMPLEX');

    const user = await registerUser(app);
    const socket = app.socket(user.auth.accessToken);
    const iterator = socket.client.iterate({ query: deep });
    const overSocket = await iterator.next().then(
      () => null,
      (errors: Array<{ extensions?: { code?: string } }>) => errors,
    );
    await socket.dispose();
    expect(overSocket?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('should refuse a document with more aliases than the limit', async () => {
    const aliases = Array.from({ length: 60 }, (_, i) => `a${i}: llmProviders { llm }`).join(' ');
    const result = await app.http().raw(`{ ${aliases} }`);
    expect(errorCode(result)).toBe('QUERY_TOO_COMPLEX');
  });

  it('should carry BAD_USER_INPUT with a message per field', async () => {
    const result = await app
      .http()
      .raw(
        'mutation { register(input: {email: "nope", password: "short", confirmPassword: "other", firstName: "A", lastName: "B"}) { accessToken } }',
      );
    expect(errorCode(result)).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0]?.extensions?.fields).toEqual({
      email: 'Enter a valid email address.',
      password: expect.stringContaining('8 to 128'),
      confirmPassword: 'The passwords do not match.',
    });
  });

  it('should keep schema/schema.graphql equal to the schema the resolvers build', async () => {
    const committed = await readFile(SCHEMA_FILE, 'utf8');
    const current = await renderCurrentSchema();
    if (committed !== current) {
      throw new Error('schema/schema.graphql is stale: run npm run schema:emit');
    }
  });
});

describe('readiness follows the database', () => {
  const app = useTestApp();

  const itWithLocalDb = process.env.MONGODB_URL ? it.skip : it;
  if (process.env.MONGODB_URL) {
    console.log(
      'skipping the database stop/start test: it needs the local database, and MONGODB_URL is set',
    );
  }

  itWithLocalDb(
    'should answer /readyz 503 while the database is down and 200 once it is back',
    async () => {
      const server = app.db.server!;
      const user = await registerUser(app);
      await server.stop();
      expect(await pollStatus(`${app.baseUrl}/readyz`, 503, 8_000)).toBe(503);
      expect((await fetch(`${app.baseUrl}/healthz`)).status).toBe(200);
      // A call that needs the database says so with a retryable code, not as a bug of ours.
      await sleep(5_100); // past the live-session cache
      const me = await app.http().request(MeDocument, {}, { token: user.auth.accessToken });
      expect(me.errors?.[0]?.extensions).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        retryAfterSeconds: 5,
      });
      await server.start();
      expect(await pollStatus(`${app.baseUrl}/readyz`, 200, 15_000)).toBe(200);
    },
    40_000,
  );
});

describe('readiness during shutdown', () => {
  it('should answer /readyz 503 from the moment shutdown begins, while replies still drain', async () => {
    const app = await TestApp.start({ chat: { shutdownGraceMs: 2_000 } });
    try {
      const user = await registerUser(app);
      app.openai.enqueue({ chunks: ['still', 'writing'], stallAfterChunks: 1 });
      await sendMessage(app, user.auth.accessToken, { prompt: 'keep the drain busy' });
      expect((await fetch(`${app.baseUrl}/readyz`)).status).toBe(200);
      const stopping = app.app.stop();
      const ready = await fetch(`${app.baseUrl}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'stopping' });
      // The process is still alive and says so.
      expect((await fetch(`${app.baseUrl}/healthz`)).status).toBe(200);
      await stopping;
    } finally {
      await app.stop();
    }
  });
});
