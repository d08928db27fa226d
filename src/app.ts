import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import type { GraphQLSchema } from 'graphql';
import { Redis } from 'ioredis';
import type { Config } from './config/config';
import type { Database } from './db/connection';
import { createModels, syncIndexes, type Models } from './modules/models';
import { ServiceContainer } from './kernel/container';
import type { GraphQLContext } from './kernel/context';
import { ContextFactory } from './graphql/context-factory';
import { formatError } from './graphql/format-error';
import { QUERY_LIMITS } from './graphql/query-limits';
import { resolverClasses } from './graphql/resolvers';
import { buildAppSchema } from './graphql/schema';
import { LlmCatalog } from './llm/catalog';
import type { Logger } from './log/logger';
import { LogMailer } from './mail/log.mailer';
import type { Mailer } from './mail/mailer';
import { DEFAULT_OUTBOX_TUNING, MailOutbox, type OutboxTuning } from './mail/outbox';
import { BodySealer } from './mail/sealed-body';
import { SmtpMailer } from './mail/smtp.mailer';
import { AccessTokens } from './modules/auth/access-token';
import { AuthPayloads } from './modules/auth/auth-payloads';
import { AuthResolver } from './modules/auth/auth.resolver';
import { Authenticator } from './modules/auth/authenticator';
import { EmailTokens } from './modules/auth/email-tokens';
import { EmailVerificationResolver } from './modules/auth/email-verification.resolver';
import { EmailVerificationService } from './modules/auth/email-verification.service';
import { LoginService } from './modules/auth/login.service';
import { PasswordChangeService } from './modules/auth/password-change.service';
import { PasswordHasher } from './modules/auth/password-hasher';
import { PasswordResetService } from './modules/auth/password-reset.service';
import { PasswordResolver } from './modules/auth/password.resolver';
import { RegistrationService } from './modules/auth/registration.service';
import { SessionService } from './modules/auth/session.service';
import { SessionsResolver } from './modules/auth/sessions.resolver';
import { TokenRefreshService } from './modules/auth/token-refresh.service';
import { LlmProvidersResolver } from './modules/llm/llm-providers.resolver';
import { ProfileResolver } from './modules/users/profile.resolver';
import { ProfileService } from './modules/users/profile.service';
import { createAppPubSub, type PalaverPubSub } from './pubsub/pubsub';
import { DEFAULT_RATE_LIMITS, RateLimits, type RateLimitRules } from './rate-limit/rate-limits';
import { drainPlugin, errorLoggingPlugin, queryLimitsPlugin } from './server/apollo-plugins';
import { createRequestListener } from './server/http-app';
import { WebSocketGateway } from './server/websocket';
import { createProviders } from './llm/providers';
import { EmailVerifiedGuard } from './modules/auth/email-verified.guard';
import { ChatEvents } from './modules/chat/chat-events';
import { ChatEventType, MessageStatus } from './modules/chat/chat-enums';
import { ChatResolver } from './modules/chat/chat.resolver';
import { ChatService } from './modules/chat/chat.service';
import { ChatSubscriptionsResolver } from './modules/chat/chat-subscriptions.resolver';
import { MessageService } from './modules/chat/message.service';
import { MessageStreamService } from './modules/chat/message-stream.service';
import { SendMessageResolver } from './modules/chat/send-message.resolver';
import { SendMessageService } from './modules/chat/send-message.service';
import { StopGenerationService } from './modules/chat/stop-generation.service';
import {
  DEFAULT_GENERATION_OPTIONS,
  type GenerationOptions,
} from './modules/chat/streaming/generation';
import { GenerationManager } from './modules/chat/streaming/generation-manager';
import { StreamHub } from './modules/chat/streaming/message-stream';
import { TitleImprover } from './modules/chat/titles';

/** In-flight HTTP requests get this long to finish on shutdown before their sockets close. */
const HTTP_DRAIN_GRACE_MS = 10_000;
/**
 * A request must arrive whole within this long, its headers within the second: a client that
 * trickles its body a byte at a time cannot hold a connection (Node's defaults are 300 s/60 s).
 */
export const HTTP_REQUEST_TIMEOUT_MS = 30_000;
export const HTTP_HEADERS_TIMEOUT_MS = 10_000;
const HTTP_TIMEOUT_CHECK_MS = 2_000;
/** Expired sessions are deleted this often (FerretDB has no TTL indexes). */
const SESSION_SWEEP_INTERVAL_MS = 60 * 60_000;
/** Replies being written get this long to finish on shutdown, then are saved INTERRUPTED. */
const GENERATION_SHUTDOWN_GRACE_MS = 5_000;

/** Knobs for tests and benchmarks; production uses the defaults. */
export interface ChatTuning extends Partial<GenerationOptions> {
  firstByteTimeoutMs?: number;
  idleTimeoutMs?: number;
  retriesBeforeFirstToken?: number;
  echoWordDelayMs?: number;
  shutdownGraceMs?: number;
}

export interface AppDependencies {
  config: Config;
  logger: Logger;
  /** Owned by the caller, which closes it after `stop()`. */
  database: Database;
  /** Defaults to SMTP from `MAIL_*`, or the log when `MAIL_SERVER` is unset. */
  mailer?: Mailer;
  /** Tests that are not about limits may raise some. */
  rateLimits?: Partial<RateLimitRules>;
  chat?: ChatTuning;
  /** Tests shorten the mail retry schedule to see it act. */
  outbox?: Partial<OutboxTuning>;
  /** How often expired sessions are deleted (tests shorten it to see it act). */
  sessionSweepMs?: number;
  /** Tests shorten these to see them act. */
  httpTimeouts?: { requestMs: number; headersMs: number };
}

export interface App {
  httpServer: Server;
  schema: GraphQLSchema;
  models: Models;
  pubSub: PalaverPubSub;
  outbox: MailOutbox;
  websocket: WebSocketGateway;
  generations: GenerationManager;
  /**
   * Refuses new prompts at once (SERVICE_UNAVAILABLE), lets replies finish within the grace
   * period while their subscribers are still connected, then stops HTTP accepting and drains
   * it, closes sockets with 1001, and releases what the app owns.
   */
  stop(): Promise<void>;
}

/**
 * Wires the whole application without listening, so that main.ts and the tests start it the
 * same way. Dependencies point one way: server → graphql → modules → (db, llm, mail, pubsub).
 */
export async function createApp(deps: AppDependencies): Promise<App> {
  const { config, logger, database } = deps;

  const models = createModels(database.connection);
  await syncIndexes(models);

  const pubSubHandle = createAppPubSub(config.redisUrl);
  const pubSub = pubSubHandle.pubSub;
  const rateLimitRedis = config.redisUrl
    ? new Redis(config.redisUrl, { enableOfflineQueue: false })
    : undefined;
  const rateLimits = new RateLimits({ ...DEFAULT_RATE_LIMITS, ...deps.rateLimits }, rateLimitRedis);

  const mailer =
    deps.mailer ??
    (config.mail.server
      ? new SmtpMailer({ ...config.mail, server: config.mail.server })
      : new LogMailer(logger, !config.isProduction));
  const outbox = new MailOutbox(
    models.OutboxMail,
    mailer,
    new BodySealer(config.auth.secretKey),
    logger,
    { ...DEFAULT_OUTBOX_TUNING, ...deps.outbox },
  );
  outbox.start();

  const hasher = new PasswordHasher();
  const accessTokens = new AccessTokens(config.auth);
  const sessions = new SessionService(models, config.auth, pubSub);
  const stopSessionListener = sessions.listenForEndedSessions((error) =>
    logger.error({ err: error }, 'session event listener stopped'),
  );
  const authenticator = new Authenticator(accessTokens, sessions);
  const emailTokens = new EmailTokens(models);
  const payloads = new AuthPayloads(sessions, accessTokens);
  const verification = new EmailVerificationService(
    models,
    emailTokens,
    outbox,
    rateLimits,
    config,
  );
  const catalog = new LlmCatalog(config.llm);

  // Chat: a reply left STREAMING by a process that is gone can never finish. With one process
  // (no REDIS_URL) every such reply at startup is from a process that died.
  if (!config.redisUrl) {
    const interrupted = await models.Message.updateMany(
      { status: MessageStatus.STREAMING },
      { $set: { status: MessageStatus.INTERRUPTED } },
    );
    if (interrupted.modifiedCount > 0) {
      logger.warn(
        { count: interrupted.modifiedCount },
        'replies left streaming by an earlier process are now INTERRUPTED',
      );
    }
  }
  const tuning = deps.chat ?? {};
  const chatEvents = new ChatEvents(pubSub);
  const hub = new StreamHub();
  const generations = new GenerationManager(
    models,
    hub,
    {
      ...DEFAULT_GENERATION_OPTIONS,
      coalesceMs: config.llm.streamCoalesceMs,
      maxReplyMs: config.llm.maxReplyMs,
      ...tuning,
    },
    logger,
    (record, request) => {
      if (!record) return;
      chatEvents.publish(request.userId, {
        type: ChatEventType.MESSAGE_UPDATED,
        chatId: request.chatId,
        messageId: request.messageId,
      });
    },
  );
  const providers = createProviders(config.llm, tuning);
  const verifiedGuard = new EmailVerifiedGuard(models, config.auth);
  const messageService = new MessageService(models);
  const chatService = new ChatService(models, catalog, chatEvents, generations);
  const titles = new TitleImprover(models, chatEvents, logger);
  const sendMessage = new SendMessageService(
    models,
    chatService,
    messageService,
    generations,
    providers,
    titles,
    chatEvents,
    rateLimits,
    verifiedGuard,
  );

  const container = new ServiceContainer()
    .register(
      AuthResolver,
      new AuthResolver(
        new RegistrationService(models, hasher, payloads, verification, rateLimits),
        new LoginService(models, hasher, payloads, rateLimits),
        new TokenRefreshService(models, sessions, payloads),
        sessions,
      ),
    )
    .register(SessionsResolver, new SessionsResolver(sessions))
    .register(EmailVerificationResolver, new EmailVerificationResolver(verification))
    .register(
      PasswordResolver,
      new PasswordResolver(
        new PasswordResetService(models, emailTokens, hasher, sessions, outbox, rateLimits, config),
        new PasswordChangeService(models, hasher, sessions, outbox, rateLimits),
      ),
    )
    .register(ProfileResolver, new ProfileResolver(new ProfileService(models)))
    .register(LlmProvidersResolver, new LlmProvidersResolver(catalog))
    .register(ChatResolver, new ChatResolver(chatService, messageService, verifiedGuard))
    .register(
      SendMessageResolver,
      new SendMessageResolver(
        sendMessage,
        new StopGenerationService(models, messageService, generations),
      ),
    )
    .register(
      ChatSubscriptionsResolver,
      new ChatSubscriptionsResolver(new MessageStreamService(messageService, hub), pubSub, models),
    );

  const schema = await buildAppSchema(resolverClasses, pubSub);
  const contextFactory = new ContextFactory(authenticator, container, logger);
  const httpServer = createServer({
    requestTimeout: deps.httpTimeouts?.requestMs ?? HTTP_REQUEST_TIMEOUT_MS,
    headersTimeout: deps.httpTimeouts?.headersMs ?? HTTP_HEADERS_TIMEOUT_MS,
    // How often Node looks for requests past those timeouts (its default is every 30 s).
    connectionsCheckingInterval: Math.min(
      HTTP_TIMEOUT_CHECK_MS,
      deps.httpTimeouts?.requestMs ?? HTTP_TIMEOUT_CHECK_MS,
    ),
  });
  const introspection = !config.isProduction;
  const exposeInternals = config.nodeEnv === 'development';

  const websocket = new WebSocketGateway({
    httpServer,
    schema,
    authenticator,
    contextFactory,
    pubSub,
    logger,
    trustProxy: config.http.trustProxy,
    maxSocketsPerUser: config.http.maxSocketsPerUser,
    corsOrigins: config.http.corsOrigins,
    introspection,
    hideSchemaDetails: config.isProduction,
    exposeInternals,
  });

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection,
    csrfPrevention: true,
    // The token limit holds while parsing, before any other limit can look at the document.
    parseOptions: { maxTokens: QUERY_LIMITS.maxTokens },
    // No "Did you mean …?" in production: with introspection off it would map the schema.
    hideSchemaDetailsFromClientErrors: config.isProduction,
    // main.ts owns SIGINT/SIGTERM and stops everything in order; Apollo's own handler would
    // race it (and re-raise the signal after stopping only itself).
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => formatError(formatted, error, { exposeInternals }),
    plugins: [
      // Order matters on stop: HTTP stops accepting first, then the sockets close with 1001.
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: HTTP_DRAIN_GRACE_MS }),
      drainPlugin(() => websocket.close()),
      ApolloServerPluginLandingPageDisabled(),
      // No resolver sets cache hints; the plugin would otherwise wrap every field resolver.
      ApolloServerPluginCacheControlDisabled(),
      queryLimitsPlugin(),
      errorLoggingPlugin(),
    ],
  });
  await apollo.start();
  httpServer.on('request', createRequestListener({ config, apollo, contextFactory, database }));

  // A sweep that fails (the database away) is logged, and the next one tries again; one at a time.
  let sweeping = false;
  const sweeper = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    sessions
      .sweepExpired()
      .catch((error) => logger.warn({ err: error }, 'session sweep failed; the next one retries'))
      .finally(() => (sweeping = false));
  }, deps.sessionSweepMs ?? SESSION_SWEEP_INTERVAL_MS);
  sweeper.unref();

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      clearInterval(sweeper);
      // Replies first (new prompts are refused from this moment), while subscribers are still
      // connected to see them end; HTTP and the sockets after.
      titles.close();
      await generations.shutdown(tuning.shutdownGraceMs ?? GENERATION_SHUTDOWN_GRACE_MS);
      await apollo.stop();
      await stopSessionListener();
      hub.close();
      await outbox.close();
      await pubSubHandle.close();
      rateLimitRedis?.disconnect();
    })());

  return { httpServer, schema, models, pubSub, outbox, websocket, generations, stop };
}
