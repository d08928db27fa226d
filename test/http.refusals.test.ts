import { createHash } from 'node:crypto';
import { registerUser } from './helpers/accounts';
import { TestApp } from './helpers/test-app';
import { TestDatabase } from './helpers/database';

/**
 * Requests refused before anything executes (Apollo's own checks, the body parser, the
 * persisted-query protocol) keep their own code and an actionable message: they are the
 * client's to fix, never a masked INTERNAL_SERVER_ERROR. Run against a production build's
 * configuration, where masking is strictest.
 */
interface ErrorBody {
  data?: unknown;
  errors: Array<{ message: string; extensions: { code: string } }>;
}

describe('requests refused before execution', () => {
  let app: TestApp;
  let db: TestDatabase;
  beforeAll(async () => {
    db = await TestDatabase.start();
    app = await TestApp.start({
      database: db,
      env: { NODE_ENV: 'production', MONGODB_URL: db.url, HOST: '127.0.0.1' },
    });
  });
  afterAll(async () => {
    await app.stop();
    await db.stop();
  });

  const send = async (init: RequestInit & { path?: string }) => {
    const response = await fetch(`${app.url}${init.path ?? ''}`, init);
    const body = (await response.json()) as ErrorBody;
    return { status: response.status, body, first: body.errors?.[0] };
  };
  const postJson = (body: unknown, headers: Record<string, string> = {}) =>
    send({
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('should answer a GET query without a preflight header with BAD_REQUEST naming the header (urql and curl send GET)', async () => {
    const result = await send({
      path: `?query=${encodeURIComponent('{ llmProviders { llm } }')}`,
    });
    expect(result.status).toBe(400);
    expect(result.first?.extensions.code).toBe('BAD_REQUEST');
    expect(result.first?.message).toMatch(/apollo-require-preflight/);
  });

  it('should answer a mutation sent by GET with 405 and BAD_REQUEST saying to POST it', async () => {
    const result = await send({
      path: `?query=${encodeURIComponent('mutation { logoutAllSessions }')}`,
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(result.status).toBe(405);
    expect(result.first?.extensions.code).toBe('BAD_REQUEST');
    expect(result.first?.message).toMatch(/GET requests only support query operations/);
  });

  it('should answer a body with no query with BAD_REQUEST', async () => {
    const empty = await postJson({});
    expect(empty.status).toBe(400);
    expect(empty.first?.extensions.code).toBe('BAD_REQUEST');
    expect(empty.first?.message).toMatch(/POST body missing/);
    const noQuery = await postJson({ variables: { id: '1' } });
    expect(noQuery.status).toBe(400);
    expect(noQuery.first?.extensions.code).toBe('BAD_REQUEST');
    expect(noQuery.first?.message).toMatch(/non-empty `query`/);
  });

  it('should answer a batched array body with BAD_REQUEST saying batching is off', async () => {
    const result = await postJson([{ query: '{ __typename }' }, { query: '{ __typename }' }]);
    expect(result.status).toBe(400);
    expect(result.first?.extensions.code).toBe('BAD_REQUEST');
    expect(result.first?.message).toMatch(/batch/i);
  });

  it('should answer a body that is not JSON with BAD_REQUEST', async () => {
    const result = await postJson('{"query": "{ __typename }"');
    expect(result.status).toBe(400);
    expect(result.first?.extensions.code).toBe('BAD_REQUEST');
    expect(result.first?.message).toMatch(/not valid JSON/);
  });

  it('should answer a body of another content type with BAD_REQUEST naming the one to send', async () => {
    const result = await send({
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(result.status).toBe(415);
    expect(result.first?.extensions.code).toBe('BAD_REQUEST');
    expect(result.first?.message).toMatch(/application\/json/);
  });

  it('should answer an unknown persisted query with PERSISTED_QUERY_NOT_FOUND, so that APQ clients send the text', async () => {
    const result = await postJson({
      extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } },
    });
    expect(result.first?.extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(result.first?.message).toBe('PersistedQueryNotFound');
  });

  it('should accept a persisted query once its text was sent, and refuse a hash that does not match it', async () => {
    const query = '{ llmProviders { llm } }';
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const registered = await postJson({
      query,
      extensions: { persistedQuery: { version: 1, sha256Hash } },
    });
    expect(registered.body.errors).toBeUndefined();
    const byHash = await postJson({ extensions: { persistedQuery: { version: 1, sha256Hash } } });
    expect(byHash.body).toEqual(registered.body);

    const mismatch = await postJson({
      query,
      extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } },
    });
    expect(mismatch.status).toBe(400);
    expect(mismatch.first?.extensions.code).toBe('BAD_REQUEST');
    expect(mismatch.first?.message).toMatch(/sha does not match/);

    const version = await postJson({
      query,
      extensions: { persistedQuery: { version: 2, sha256Hash } },
    });
    expect(version.status).toBe(400);
    expect(version.first?.extensions.code).toBe('BAD_REQUEST');
    expect(version.first?.message).toMatch(/Unsupported persisted query version/);
  });

  it('should answer an unknown operationName with OPERATION_RESOLUTION_FAILURE', async () => {
    const result = await postJson({
      query: 'query A { llmProviders { llm } } query B { llmProviders { models } }',
      operationName: 'C',
    });
    expect(result.status).toBe(400);
    expect(result.first?.extensions.code).toBe('OPERATION_RESOLUTION_FAILURE');
    expect(result.first?.message).toMatch(/"C"/);
  });

  it('should answer a subscription sent over HTTP with BAD_REQUEST saying to use the WebSocket', async () => {
    const result = await postJson({ query: 'subscription { chatEvents { type } }' });
    expect(result.status).toBe(400);
    expect(result.first?.extensions.code).toBe('BAD_REQUEST');
    expect(result.first?.message).toMatch(/WebSocket/);
  });

  it('should not suggest field names in production, on HTTP or the socket', async () => {
    const http = await postJson({ query: '{ llmProvider { llm } }' });
    expect(http.first?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(http.first?.message).toMatch(/Cannot query field "llmProvider"/);
    expect(http.first?.message).not.toMatch(/Did you mean/);
    const register = await postJson({
      query:
        'mutation { register(input: { email: "a@b.c", pasword: "x", confirmPassword: "x", firstName: "a", lastName: "b" }) { accessToken } }',
    });
    expect(register.first?.message).not.toMatch(/Did you mean/);

    const user = await registerUser(app);
    const socket = app.socket(user.auth.accessToken);
    try {
      const iterator = socket.client.iterate({ query: '{ llmProvider { llm } }' });
      const error = await iterator.next().then(
        () => null,
        (errors: Array<{ message: string; extensions?: { code?: string } }>) => errors,
      );
      expect(error?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(error?.[0]?.message).toMatch(/Cannot query field "llmProvider"/);
      expect(error?.[0]?.message).not.toMatch(/Did you mean/);
    } finally {
      await socket.dispose();
    }
  });
});
