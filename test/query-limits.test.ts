import { getIntrospectionQuery } from 'graphql';
import { registerUser, type TestUser } from './helpers/accounts';
import { TestApp } from './helpers/test-app';
import { TestSocket } from './helpers/ws-client';
import { DocumentCache } from '../src/server/ws/document-cache';

/**
 * Documents and variables built to hurt: each is refused early, with a client error (never
 * INTERNAL_SERVER_ERROR, never a stack overflow), on HTTP and on the WebSocket alike.
 */
interface Refusal {
  status?: number;
  code: unknown;
  message: string;
}

describe('query limits against hostile documents', () => {
  let app: TestApp;
  let user: TestUser;
  let socket: TestSocket;
  beforeAll(async () => {
    app = await TestApp.start();
    user = await registerUser(app);
    socket = app.socket(user.auth.accessToken);
  });
  afterAll(async () => {
    await socket.dispose();
    await app.stop();
  });

  const overHttp = async (
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<Refusal> => {
    const response = await fetch(app.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      // JSON.stringify itself recurses; build deep variables as text.
      body: `{"query":${JSON.stringify(query)}${variables ? `,"variables":${variablesText(variables)}` : ''}}`,
    });
    const body = (await response.json()) as {
      errors?: Array<{ message: string; extensions?: { code?: string } }>;
    };
    return {
      status: response.status,
      code: body.errors?.[0]?.extensions?.code ?? 'OK',
      message: body.errors?.[0]?.message ?? '',
    };
  };
  const overSocket = async (query: string, variables?: Record<string, unknown>) => {
    try {
      const iterator = socket.client.iterate({ query, variables });
      const first = await iterator.next();
      await iterator.return?.();
      const errors = (first.value as { errors?: Array<{ message: string; extensions?: any }> })
        ?.errors;
      return {
        code: errors?.[0]?.extensions?.code ?? 'OK',
        message: errors?.[0]?.message ?? '',
        errors,
      };
    } catch (errors) {
      const list = errors as Array<{ message: string; extensions?: { code?: string } }>;
      return { code: list[0]?.extensions?.code, message: list[0]?.message ?? '', errors: list };
    }
  };
  const DEEP = Symbol('deep');
  const variablesText = (variables: Record<string, unknown>): string =>
    variables[DEEP as never] ? (variables[DEEP as never] as string) : JSON.stringify(variables);

  it('should refuse a document of more than 1,000 tokens before parsing it further, unauthenticated', async () => {
    const query = `{ ${Array.from({ length: 1_200 }, () => '__typename').join(' ')} }`;
    const http = await overHttp(query);
    expect(http).toMatchObject({ status: 400, code: 'QUERY_TOO_COMPLEX' });
    expect(http.message).toMatch(/1000 tokens/);
    expect(await overSocket(query)).toMatchObject({ code: 'QUERY_TOO_COMPLEX' });
  });

  it('should refuse 20,000 nested braces and a 100,000-deep list literal without a stack overflow', async () => {
    const braces = `${'{ a '.repeat(20_000)}${'}'.repeat(20_000)}`;
    const list = `{ chat(id: ${'['.repeat(100_000)}${']'.repeat(100_000)}) { id } }`;
    for (const query of [braces, list]) {
      const http = await overHttp(query);
      expect(http.code).toBe('QUERY_TOO_COMPLEX');
      expect((await overSocket(query)).code).toBe('QUERY_TOO_COMPLEX');
    }
  });

  it('should refuse variables nested 100,000 deep with BAD_USER_INPUT, unauthenticated', async () => {
    const deep = `{"input":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`;
    const query = 'mutation M($input: LoginInput!) { login(input: $input) { accessToken } }';
    const http = await overHttp(query, { [DEEP]: deep } as never);
    expect(http).toMatchObject({ status: 400, code: 'BAD_USER_INPUT' });
    expect(http.message).toMatch(/nest at most/);
    const nested: Record<string, unknown> = {};
    let cursor = nested;
    for (let i = 0; i < 40; i += 1) cursor = cursor.a = {};
    const ws = await overSocket(
      'mutation M($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }',
      {
        input: { metadata: nested },
      },
    );
    expect(ws.code).toBe('BAD_USER_INPUT');
  });

  it('should ignore variables the operation does not declare (one variables object shared by several documents), on HTTP and the socket, echoing none', async () => {
    const shared = { padding: 'x'.repeat(100_000), limit: 2, secret: 'do-not-echo-me' };
    const query = 'query Q($limit: Int) { chats(limit: $limit) { nodes { id } } }';
    expect(await overHttp(query, shared, user.auth.accessToken)).toMatchObject({
      status: 200,
      code: 'OK',
    });
    // Twice: the second request of a document takes the cached path.
    expect(await overHttp(query, shared, user.auth.accessToken)).toMatchObject({
      status: 200,
      code: 'OK',
    });
    const socket = await overSocket('query { llmProviders { llm } }', { padding: 1, secret: 'x' });
    expect(socket.code).toBe('OK');
    // Still within the limits: the declared variable is what the cost reads.
    const tooMany = await overHttp(
      'query Q($limit: Int) { chats(limit: $limit) { nodes { messages(limit: 200) { id } } } }',
      { ...shared, limit: 100 },
      user.auth.accessToken,
    );
    expect(tooMany.code).toBe('QUERY_TOO_COMPLEX');
  });

  it("should never echo a variable's value, whatever type it was sent as, on a document's first request or any later one, over HTTP or the socket", async () => {
    const secret = 'hunter-Secret-99-never-echoed';
    const number = 98765432101;
    const cases: Array<[string, Record<string, unknown>]> = [
      [
        'mutation L($input: LoginInput!) { login(input: $input) { accessToken } }',
        { input: { email: 'someone@example.com', password: secret, extra: 1 } },
      ],
      [
        'mutation L($in: LoginInput!) { login(input: $in) { accessToken } }',
        { in: { email: 'a@b.c', password: { v: secret } } },
      ],
      [
        'mutation R($t: String!) { refreshSession(refreshToken: $t) { accessToken } }',
        { t: { refreshToken: secret } },
      ],
      [
        'mutation R($t: String!) { refreshSession(refreshToken: $t) { accessToken } }',
        { t: [secret] },
      ],
      ['mutation D($p: String!) { deleteAccount(password: $p) }', { p: number }],
      ['query C($n: Int) { chats(limit: $n) { totalCount } }', { n: secret }],
      ['query C($n: Int) { chats(limit: $n) { totalCount } }', { n: number }],
      ['query C($id: ID!) { chat(id: $id) { id } }', { id: { secret } }],
      [
        'mutation C($c: LlmConfigInput) { createChat(input: { config: $c }) { id } }',
        { c: { llm: secret, chatModel: 'x' } },
      ],
      [
        'mutation C($c: LlmConfigInput) { createChat(input: { config: $c }) { id } }',
        { c: { llm: 'ECHO', chatModel: secret } },
      ],
      [
        'mutation P($m: JSONObject) { updateProfile(input: { metadata: $m }) { id } }',
        { m: secret },
      ],
      [
        'mutation P($m: JSONObject) { updateProfile(input: { metadata: $m }) { id } }',
        { m: { [`$${secret}`]: 1, nested: { [`a.${secret}`]: 2 } } },
      ],
    ];
    for (const [query, variables] of cases) {
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const response = await fetch(app.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${user.auth.accessToken}`,
          },
          body: JSON.stringify({ query, variables }),
        });
        const text = await response.text();
        expect({ query, errors: JSON.parse(text).errors?.length ?? 0 }).toEqual({
          query,
          errors: 1,
        });
        expect({ query, text }).toEqual({ query, text: expect.not.stringContaining(secret) });
        expect(text).not.toContain(String(number));
        const socketAnswer = await overSocket(query, variables);
        expect(socketAnswer.code).not.toBe('OK');
        expect(JSON.stringify(socketAnswer)).not.toContain(secret);
        expect(JSON.stringify(socketAnswer)).not.toContain(String(number));
      }
    }
  });

  it('should not let a negative limit make the cost of the rest of the document negative', async () => {
    const query = `{
      a: chats(limit: -2147483648) { nodes { id } }
      b: chats(limit: 100) { nodes { messages(limit: 200) { id content } } }
    }`;
    const http = await overHttp(query, undefined, user.auth.accessToken);
    expect(http).toMatchObject({ status: 400, code: 'QUERY_TOO_COMPLEX' });
    expect((await overSocket(query)).code).toBe('QUERY_TOO_COMPLEX');
    // The same through a variable.
    const viaVariable = await overHttp(
      'query Q($n: Int) { a: chats(limit: $n) { nodes { id } } b: chats(limit: 100) { nodes { messages(limit: 200) { id } } } }',
      { n: -2147483648 },
      user.auth.accessToken,
    );
    expect(viaVariable.code).toBe('QUERY_TOO_COMPLEX');
  });

  it("should refuse more than 15 aliases and more than 50 directives (graphql-armor's defaults)", async () => {
    const aliases = `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    const directives = `{ ${Array.from({ length: 51 }, () => '__typename @include(if: true)').join(' ')} }`;
    for (const query of [aliases, directives]) {
      expect((await overHttp(query, undefined, user.auth.accessToken)).code).toBe(
        'QUERY_TOO_COMPLEX',
      );
      expect((await overSocket(query)).code).toBe('QUERY_TOO_COMPLEX');
    }
    const fifteen = `{ ${Array.from({ length: 15 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    expect((await overHttp(fifteen, undefined, user.auth.accessToken)).code).toBe('OK');
  });

  it('should accept the deepest real operations and the standard introspection query', async () => {
    const deepest = '{ chats { nodes { messages { config { llm } usage { totalTokens } } } } }';
    expect((await overHttp(deepest, undefined, user.auth.accessToken)).code).toBe('OK');
    const introspection = await overHttp(getIntrospectionQuery({ descriptions: true }));
    expect(introspection.code).toBe('OK');
  });
});

describe('the WebSocket document cache', () => {
  it('should keep only documents that passed every check, bounded by bytes', async () => {
    const app = await TestApp.start();
    try {
      const cache = new DocumentCache(app.app.schema, true);
      const good = '{ llmProviders { llm } }';
      const prepared = cache.prepare(good);
      expect(prepared.errors).toBeNull();
      // Refused documents (bad syntax, invalid, over the token limit) are never stored.
      for (let i = 0; i < 50; i += 1) {
        cache.prepare(`{ nope${i} }`);
        cache.prepare(`{ ${'__typename '.repeat(1_200)} x${i} }`);
      }
      const entries = (cache as unknown as { entries: { size: number; calculatedSize: number } })
        .entries;
      expect(entries.size).toBe(0);
      cache.accept(good, prepared.document!);
      expect(cache.prepare(good).document).toBe(prepared.document);
      // Accepted ones stay within the byte budget however many arrive.
      for (let i = 0; i < 1_000; i += 1) {
        const query = `{ a${i}: llmProviders { llm models defaultModel } ${'__typename '.repeat(300)} }`;
        const next = cache.prepare(query);
        cache.accept(query, next.document!);
      }
      expect(entries.calculatedSize).toBeLessThanOrEqual(32 * 1024 * 1024);
      expect(entries.size).toBeLessThan(1_000);
    } finally {
      await app.stop();
    }
  });
});
