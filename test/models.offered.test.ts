import { parse } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { loadConfig } from '../src/config/config';
import { registerUser } from './helpers/accounts';
import { errorCode } from './helpers/http-client';
import { TestApp } from './helpers/test-app';

const doc = (source: string) => parse(source) as TypedDocumentNode<any, any>;
const PROVIDERS = doc('query { llmProviders { llm models } }');
const SEND = doc(`mutation ($input: SendMessageInput!) {
  sendMessage(input: $input) { assistantMessage { id } }
}`);

const SECRET = 'a-secret-that-is-long-enough-for-this-test-0123456789';
const offered = (env: Record<string, string>) =>
  loadConfig({ SECRET_KEY: SECRET, ...env }).llm.providers.map((provider) => provider.llm);

describe('the models a server offers (issue 38)', () => {
  it('should offer the built-in echo model when no provider is configured (a fresh checkout chats)', () => {
    expect(offered({})).toEqual(['ECHO']);
    expect(loadConfig({ SECRET_KEY: SECRET }).llm.defaultLlm).toBe('ECHO');
  });

  it('should not offer ECHO once a real provider is configured, unless ECHO_MODEL_ENABLED says so', () => {
    expect(offered({ OPENAI_API_KEY: 'sk-x' })).toEqual(['OPEN_AI']);
    expect(offered({ OLLAMA_BASE_URL: 'http://127.0.0.1:11434' })).toEqual(['OLLAMA']);
    expect(
      loadConfig({ SECRET_KEY: SECRET, OLLAMA_BASE_URL: 'http://127.0.0.1:11434' }).llm.defaultLlm,
    ).toBe('OLLAMA');
    expect(offered({ OPENAI_API_KEY: 'sk-x', ECHO_MODEL_ENABLED: 'true' })).toEqual([
      'OPEN_AI',
      'ECHO',
    ]);
    expect(offered({ ECHO_MODEL_ENABLED: 'false', OPENAI_API_KEY: 'sk-x' })).toEqual(['OPEN_AI']);
  });

  it('should refuse a DEFAULT_LLM of ECHO that is not offered, naming it', () => {
    expect(() =>
      loadConfig({ SECRET_KEY: SECRET, OPENAI_API_KEY: 'sk-x', DEFAULT_LLM: 'ECHO' }),
    ).toThrow(/DEFAULT_LLM is ECHO, but that provider is not configured/);
  });

  describe('in production with a real provider', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await TestApp.start({ env: { ECHO_MODEL_ENABLED: 'false' } });
    });
    afterAll(async () => {
      await app?.stop();
    });

    it('should neither list nor accept ECHO, naming the models that are offered', async () => {
      const { llmProviders } = await app.http().data(PROVIDERS);
      expect(llmProviders.map((provider: { llm: string }) => provider.llm)).toEqual(['OPEN_AI']);
      const user = await registerUser(app);
      const refused = await app
        .http()
        .request(
          SEND,
          { input: { prompt: 'hi', config: { llm: 'ECHO', chatModel: 'echo-1' } } },
          { token: user.auth.accessToken },
        );
      expect(errorCode(refused)).toBe('BAD_USER_INPUT');
      expect(refused.errors![0]!.message).toMatch(/OPEN_AI \(gpt-test, gpt-test-mini\)/);
      expect(refused.errors![0]!.extensions!.fields).toEqual({ 'config.llm': expect.any(String) });
    });
  });

  it('should refuse an MCP server URL holding credentials, without echoing them (review)', () => {
    let message = '';
    try {
      loadConfig({
        SECRET_KEY: SECRET,
        MCP_SERVERS: JSON.stringify({ x: { url: 'http://user:LEAKPASS@127.0.0.1:9/mcp' } }),
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/MCP_SERVERS.*must not hold credentials/);
    expect(message).not.toContain('LEAKPASS');
  });
});
