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
});
