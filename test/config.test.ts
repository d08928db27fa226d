import { Writable } from 'node:stream';
import { ConfigError, loadConfig } from '../src/config/config';
import { createLogger } from '../src/log/logger';

describe('configuration', () => {
  it('should run in development with no environment at all, on the built-in echo model', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(4000);
    expect(config.http.host).toBe('127.0.0.1');
    expect(config.database.url).toBeUndefined();
    expect(config.llm.defaultLlm).toBe('ECHO');
    expect(config.http.trustProxy).toBe(false);
  });

  it('should name every bad variable in one message', () => {
    expect(() => loadConfig({ PORT: 'eighty', ALGORITHM: 'none' })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: 'eighty', ALGORITHM: 'none' });
    } catch (error) {
      expect((error as Error).message).toMatch(/PORT/);
      expect((error as Error).message).toMatch(/ALGORITHM/);
    }
  });

  it('should name both production requirements when both are missing', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/MONGODB_URL.*SECRET_KEY/s);
  });

  it('should default to OPEN_AI when an API key is set, and refuse a default model that is not offered', () => {
    expect(loadConfig({ OPENAI_API_KEY: 'k' }).llm.defaultLlm).toBe('OPEN_AI');
    expect(() => loadConfig({ OPENAI_API_KEY: 'k', DEFAULT_CHAT_MODEL: 'nope' })).toThrow(
      /DEFAULT_CHAT_MODEL/,
    );
  });

  it('should read TRUST_PROXY like Express: booleans, hop counts and address lists', () => {
    expect(loadConfig({ TRUST_PROXY: 'true' }).http.trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '2' }).http.trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).http.trustProxy).toBe(
      'loopback, 10.0.0.0/8',
    );
  });
});

describe('logging', () => {
  it('should redact authorization headers, passwords and tokens', () => {
    let output = '';
    const sink = new Writable({
      write(chunk, _encoding, done) {
        output += chunk.toString();
        done();
      },
    });
    const logger = createLogger({ isProduction: true, logLevel: 'info' }, sink);
    logger.info({
      req: { headers: { authorization: 'Bearer eyJ.secret.token' } },
      variables: {
        input: { password: 'hunter2-secret', newPassword: 'n3w-secret' },
        refreshToken: 'rt-secret',
      },
      connectionParams: { authorization: 'Bearer ws-secret' },
      input: { token: 'mail-token-secret' },
    });
    expect(output).not.toMatch(/secret/);
    expect(output).toContain('[redacted]');
  });
});
