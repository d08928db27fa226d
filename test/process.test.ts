import { LlmProvidersDocument, RegisterDocument } from './gql/graphql';
import { STRONG_PASSWORD, uniqueEmail } from './helpers/accounts';
import { TestDatabase } from './helpers/database';
import { GraphQLHttpClient } from './helpers/http-client';
import { runServer, startServerProcess } from './helpers/server-process';
import { TestSocket } from './helpers/ws-client';

const PRODUCTION_SECRET = 'a-production-secret-key-of-more-than-32-characters';

describe('the server process', () => {
  it('should refuse to start in production without MONGODB_URL, naming it', async () => {
    const run = runServer({ NODE_ENV: 'production', SECRET_KEY: PRODUCTION_SECRET });
    const { code } = await run.exited;
    expect(code).not.toBe(0);
    expect(run.lines.join('\n')).toContain('MONGODB_URL');
  });

  it('should refuse to start in production with a SECRET_KEY shorter than 32 characters, naming it', async () => {
    const run = runServer({
      NODE_ENV: 'production',
      MONGODB_URL: 'mongodb://127.0.0.1:1/',
      SECRET_KEY: 'short',
    });
    const { code } = await run.exited;
    expect(code).not.toBe(0);
    const output = run.lines.join('\n');
    expect(output).toContain('SECRET_KEY');
    expect(output).not.toContain('MONGODB_URL is required');
  });

  describe('when running', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await TestDatabase.start();
    });
    afterAll(async () => {
      await db.stop();
    });

    it('should close WebSocket clients with 1001 and exit 0 on SIGTERM', async () => {
      const server = await startServerProcess({
        NODE_ENV: 'production',
        MONGODB_URL: db.url,
        DATABASE_NAME: db.name,
        SECRET_KEY: PRODUCTION_SECRET,
        PORT: '0',
        LOG_LEVEL: 'info',
      });
      const http = new GraphQLHttpClient(`http://127.0.0.1:${server.port}/graphql`);
      try {
        const providers = await http.data(LlmProvidersDocument);
        expect(providers.llmProviders[0]?.llm).toBe('ECHO');
        const { register } = await http.data(RegisterDocument, {
          input: {
            email: uniqueEmail(),
            password: STRONG_PASSWORD,
            confirmPassword: STRONG_PASSWORD,
            firstName: 'A',
            lastName: 'B',
          },
        });
        const socket = TestSocket.withToken(
          `ws://127.0.0.1:${server.port}/graphql`,
          register.accessToken,
        );
        await socket.connected;

        const started = Date.now();
        server.child.kill('SIGTERM');
        const close = await socket.nextClose(10_000);
        expect(close.code).toBe(1001);
        const { code } = await server.exited;
        if (code !== 0) console.log(server.lines.join('\n'));
        expect(code).toBe(0);
        expect(Date.now() - started).toBeLessThan(20_000);
        await socket.dispose();
      } finally {
        server.child.kill('SIGKILL');
      }
    }, 40_000);
  });
});
