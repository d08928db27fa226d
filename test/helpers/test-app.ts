import type { AddressInfo } from 'node:net';
import { createApp, type App, type ChatTuning } from '../../src/app';
import type { OutboxTuning } from '../../src/mail/outbox';
import { loadConfig, type Config } from '../../src/config/config';
import type { Database } from '../../src/db/connection';
import { createLogger } from '../../src/log/logger';
import type { RateLimitRules } from '../../src/rate-limit/rate-limits';
import type { SweepTiming } from '../../src/modules/attachments/attachment-sweeper';
import { FakeOpenAi } from './fake-openai';
import { GraphQLHttpClient } from './http-client';
import { SmtpCapture } from './smtp-capture';
import { TestDatabase } from './database';
import { TestSocket } from './ws-client';
import { commandsDuring } from './command-monitor';

/** Generous limits for tests that are not about limits (they register many users from 127.0.0.1). */
const RELAXED = { points: 10_000, durationSeconds: 60 };
export const RELAXED_RATE_LIMITS: RateLimitRules = {
  loginFailuresPerEmail: RELAXED,
  loginFailuresPerIp: RELAXED,
  mailPerAddressPerMinute: RELAXED,
  mailPerAddressPerHour: RELAXED,
  mailPerIp: RELAXED,
  registrationsPerIp: RELAXED,
  messagesPerUserPerMinute: RELAXED,
  sharedChatPerIp: RELAXED,
  secondFactorFailuresPerUser: RELAXED,
};

export const APP_URL = 'http://app.test';

export interface TestAppOptions {
  /** Extra environment for loadConfig, as an operator would set it. */
  env?: Record<string, string>;
  /** Limits to enforce; everything else is relaxed. */
  rateLimits?: Partial<RateLimitRules>;
  /** Reuse a database (a restart test); otherwise the app gets its own. */
  database?: TestDatabase;
  /** Chat timing knobs (timeouts, coalescing, the echo model's pace). */
  chat?: ChatTuning;
  httpTimeouts?: { requestMs: number; headersMs: number };
  /** Mail retry timing; tests get a brisk schedule by default. */
  outbox?: Partial<OutboxTuning>;
  sessionSweepMs?: number;
  /** The attachment sweeper's timing (tests shorten it to see unused uploads go). */
  attachmentSweep?: Partial<SweepTiming>;
  /** Reuse an SMTP capture (a restart test); otherwise the app gets its own. */
  mail?: SmtpCapture;
}

/** Retries within a test's patience; polls often enough to see another instance's mail. */
const BRISK_OUTBOX: Partial<OutboxTuning> = { firstRetryMs: 300, maxRetryMs: 2_000, pollMs: 1_000 };

/**
 * One running Palaver on port 0 with its own database, SMTP capture and fake OpenAI upstream,
 * configured through loadConfig like the real process. `stop()` disposes all of it.
 */
export class TestApp {
  private constructor(
    readonly app: App,
    readonly config: Config,
    readonly db: TestDatabase,
    private readonly ownsDb: boolean,
    private readonly ownsMail: boolean,
    readonly connection: Database,
    readonly mail: SmtpCapture,
    readonly openai: FakeOpenAi,
    readonly port: number,
  ) {}

  static async start(options: TestAppOptions = {}): Promise<TestApp> {
    const db = options.database ?? (await TestDatabase.start());
    const [mail, openai] = await Promise.all([
      options.mail ?? SmtpCapture.start(),
      FakeOpenAi.start(),
    ]);
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      SECRET_KEY: 'test-secret-key-that-is-long-enough-0123456789',
      MAIL_SERVER: '127.0.0.1',
      MAIL_PORT: String(mail.port),
      APP_URL,
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_MODELS: 'gpt-test,gpt-test-mini',
      // Tests chat with the built-in model beside the fake OpenAI one.
      ECHO_MODEL_ENABLED: 'true',
      ...options.env,
    });
    const logger = createLogger(config);
    const connection = await db.connect();
    const app = await createApp({
      config,
      logger,
      database: connection,
      rateLimits: { ...RELAXED_RATE_LIMITS, ...options.rateLimits },
      // Quick retries and a brisk echo model keep chat tests fast; tests about timing set their own.
      chat: { echoWordDelayMs: 2, ...options.chat },
      httpTimeouts: options.httpTimeouts,
      outbox: { ...BRISK_OUTBOX, ...options.outbox },
      sessionSweepMs: options.sessionSweepMs,
      attachmentSweep: options.attachmentSweep,
    });
    await new Promise<void>((resolve) => app.httpServer.listen(0, '127.0.0.1', resolve));
    const port = (app.httpServer.address() as AddressInfo).port;
    return new TestApp(
      app,
      config,
      db,
      !options.database,
      !options.mail,
      connection,
      mail,
      openai,
      port,
    );
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `${this.baseUrl}/graphql`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/graphql`;
  }

  http(): GraphQLHttpClient {
    return new GraphQLHttpClient(this.url);
  }

  socket(token?: string): TestSocket {
    return token ? TestSocket.withToken(this.wsUrl, token) : new TestSocket(this.wsUrl);
  }

  /** Counts the database commands `action` sends (command monitoring on this app's connection). */
  async countCommands(action: () => Promise<unknown>): Promise<{ count: number; names: string[] }> {
    // The mail outbox polls and sends on its own timer (the sign-up mail of a test's user may
    // go out during the action): its commands are not the action's.
    const names = (await commandsDuring(this.connection.connection, action)).filter(
      (name) => !name.endsWith(' mail_outbox'),
    );
    return { count: names.length, names };
  }

  /** Stops the app only (the database stays, for restart tests). */
  async stopApp(): Promise<void> {
    await this.app.stop();
    await this.connection.close().catch(() => undefined);
  }

  async stop(): Promise<void> {
    await this.stopApp();
    await Promise.all([this.ownsMail ? this.mail.stop() : undefined, this.openai.stop()]);
    if (this.ownsDb) await this.db.stop();
  }
}

/**
 * The app of one test file: started before its tests, stopped after them. Returns a stand-in
 * that forwards to the started app, so a file declares it once (`const app = useTestApp()`)
 * instead of its own beforeAll/afterAll pair; a file's further beforeAll hooks run after it.
 */
export function useTestApp(options: TestAppOptions = {}): TestApp {
  let started: TestApp | undefined;
  beforeAll(async () => {
    started = await TestApp.start(options);
  });
  afterAll(async () => {
    await started?.stop();
  });
  return new Proxy({} as TestApp, {
    get(_target, property) {
      if (!started) throw new Error('useTestApp: the app is used before its beforeAll ran');
      const value = Reflect.get(started, property, started) as unknown;
      return typeof value === 'function' ? value.bind(started) : value;
    },
  });
}
