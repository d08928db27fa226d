import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { auditServer, type AuditResult } from 'graphql-http';
import { TestApp } from './helpers/test-app';

/**
 * The GraphQL-over-HTTP spec's public check (graphql-http's auditServer): every MUST that a
 * stock Apollo Server passes, Palaver passes too.
 */
describe('GraphQL over HTTP', () => {
  let app: TestApp;
  let stock: ApolloServer;
  let stockUrl: string;
  beforeAll(async () => {
    app = await TestApp.start();
    stock = new ApolloServer({
      typeDefs: 'type Query { hello: String }',
      resolvers: { Query: { hello: () => 'world' } },
    });
    stockUrl = (await startStandaloneServer(stock, { listen: { port: 0, host: '127.0.0.1' } })).url;
  });
  afterAll(async () => {
    await stock.stop();
    await app.stop();
  });

  const passedMusts = (results: AuditResult[]) =>
    new Set(results.filter((r) => r.name.startsWith('MUST') && r.status === 'ok').map((r) => r.id));

  it('should pass every MUST audit that stock Apollo Server passes', async () => {
    const stockPassed = passedMusts(await auditServer({ url: stockUrl }));
    const ours = await auditServer({ url: app.url });
    const oursPassed = passedMusts(ours);
    expect(stockPassed.size).toBeGreaterThan(10);
    const missing = [...stockPassed].filter((id) => !oursPassed.has(id));
    const names = ours
      .filter((r) => missing.includes(r.id))
      .map((r) => `${r.name}: ${'reason' in r ? r.reason : ''}`);
    expect(names).toEqual([]);
  });

  const post = (body: string, contentType = 'application/json') =>
    fetch(app.url, { method: 'POST', headers: { 'content-type': contentType }, body });

  it('should answer a body that is not JSON with 400 and a BAD_REQUEST GraphQL error', async () => {
    const response = await post('{"query": "{ llmProviders { llm } }"');
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await response.json()) as { errors: Array<{ extensions: { code: string } }> };
    expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
  });

  it('should refuse a body over 1 MB with 413 before parsing it', async () => {
    const response = await post(
      JSON.stringify({ query: `{ __typename }`, pad: 'x'.repeat(1_100_000) }),
    );
    expect(response.status).toBe(413);
    const body = (await response.json()) as {
      errors: Array<{ message: string; extensions: { code: string } }>;
    };
    expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
    expect(body.errors[0]!.message).toMatch(/larger than 1mb/);
  });

  it('should still answer queries at /graphql/ and with a query string', async () => {
    for (const url of [`${app.url}/`, `${app.url}?x=1`]) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ llmProviders { llm } }' }),
      });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { data: unknown }).data).toBeTruthy();
    }
  });
});
