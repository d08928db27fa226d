import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { ConfigError, loadConfig } from '../src/config/config';
import { createLogger } from '../src/log/logger';
import { TestApp } from './helpers/test-app';

describe('configuration', () => {
  it('should run in development with no environment at all, on the built-in echo model', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(4000);
    expect(config.http.host).toBe('127.0.0.1');
    expect(config.database.url).toBeUndefined();
    expect(config.llm.defaultLlm).toBe('ECHO');
    expect(config.http.trustProxy).toBe(false);
  });

  it('should serve /metrics outside production by default, not in production, and as METRICS_ENABLED says', async () => {
    const production = {
      NODE_ENV: 'production',
      MONGODB_URL: 'mongodb://db.example:27017',
      SECRET_KEY: 'x'.repeat(40),
    };
    expect(loadConfig({}).metricsEnabled).toBe(true);
    expect(loadConfig(production).metricsEnabled).toBe(false);
    expect(loadConfig({ ...production, METRICS_ENABLED: 'true' }).metricsEnabled).toBe(true);
    expect(() => loadConfig({ METRICS_ENABLED: 'sometimes' })).toThrow(/METRICS_ENABLED/);
    const app = await TestApp.start({ env: { METRICS_ENABLED: 'false' } });
    try {
      expect((await fetch(`${app.baseUrl}/metrics`)).status).toBe(404);
      expect((await fetch(`${app.baseUrl}/healthz`)).status).toBe(200);
    } finally {
      await app.stop();
    }
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

  it('should sign local development tokens with a secret of its own data folder, never a published constant', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'palaver-secret-'));
    try {
      const localSecretFile = path.join(dir, 'secret-key');
      const first = loadConfig({}, { localSecretFile }).auth.secretKey;
      expect(first.length).toBeGreaterThanOrEqual(32);
      expect(first).not.toBe('palaver-development-secret-key-not-for-production-use');
      // Kept: sessions survive a restart; owner-only.
      expect(loadConfig({}, { localSecretFile }).auth.secretKey).toBe(first);
      expect((await stat(localSecretFile)).mode & 0o077).toBe(0);
      // Another data folder, another secret.
      const other = path.join(dir, 'other', 'secret-key');
      expect(loadConfig({}, { localSecretFile: other }).auth.secretKey).not.toBe(first);
      // An operator's SECRET_KEY always wins.
      expect(
        loadConfig({ SECRET_KEY: 'set-by-the-operator' }, { localSecretFile }).auth.secretKey,
      ).toBe('set-by-the-operator');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('should refuse to start without SECRET_KEY on a shared database or a reachable address, naming it', () => {
    expect(() => loadConfig({ MONGODB_URL: 'mongodb://db.internal:27017' })).toThrow(
      /SECRET_KEY is required when MONGODB_URL is set/,
    );
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(
      /SECRET_KEY is required when HOST \(0\.0\.0\.0\) is not a loopback address/,
    );
    expect(loadConfig({ HOST: '0.0.0.0', SECRET_KEY: 'x'.repeat(40) }).http.host).toBe('0.0.0.0');
  });

  it('should refuse a short SECRET_KEY on a shared database or a reachable address whatever NODE_ENV says', () => {
    for (const env of [
      { HOST: '0.0.0.0', SECRET_KEY: 'x' },
      { MONGODB_URL: 'mongodb://db.internal:27017', SECRET_KEY: 'x'.repeat(31) },
      { NODE_ENV: 'test', HOST: '0.0.0.0', SECRET_KEY: 'short' },
    ]) {
      expect(() => loadConfig(env)).toThrow(/SECRET_KEY must be at least 32 characters/);
    }
    // A developer's own machine may use any key.
    expect(loadConfig({ SECRET_KEY: 'x' }).auth.secretKey).toBe('x');
  });

  it('should offer introspection and internal messages only outside production on a loopback address', () => {
    expect(loadConfig({}).developerTools).toBe(true);
    expect(loadConfig({ HOST: '0.0.0.0', SECRET_KEY: 'x'.repeat(40) }).developerTools).toBe(false);
    expect(
      loadConfig({
        NODE_ENV: 'production',
        MONGODB_URL: 'mongodb://db.internal:27017',
        SECRET_KEY: 'x'.repeat(40),
      }).developerTools,
    ).toBe(false);
  });

  it('should refuse an empty or truncated local secret file, naming it, instead of signing with it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'palaver-secret-'));
    try {
      const localSecretFile = path.join(dir, 'secret-key');
      for (const content of ['', '\n', 'abc']) {
        await writeFile(localSecretFile, content);
        expect(() => loadConfig({}, { localSecretFile })).toThrow(ConfigError);
        expect(() => loadConfig({}, { localSecretFile })).toThrow(
          /secret-key is empty or too short/,
        );
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('should give processes that create the local secret at once the same whole key, over many trials', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'palaver-secret-race-'));
    const module = path.resolve(__dirname, '..', 'dist', 'config', 'local-secret.js');
    try {
      for (let trial = 0; trial < 15; trial += 1) {
        const file = path.join(dir, `secret-${trial}`);
        const keys = await Promise.all(
          [1, 2, 3].map(
            () =>
              new Promise<string>((resolve, reject) => {
                execFile(
                  process.execPath,
                  [
                    '-e',
                    `process.stdout.write(require(${JSON.stringify(module)}).localSecret(${JSON.stringify(file)}))`,
                  ],
                  (error, stdout) => (error ? reject(error) : resolve(stdout)),
                );
              }),
          ),
        );
        expect(keys[0]!.length).toBeGreaterThanOrEqual(43);
        expect(new Set(keys).size).toBe(1);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
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
