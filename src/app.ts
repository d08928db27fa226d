import 'reflect-metadata';
import type { Server } from 'node:http';
import type { GraphQLSchema } from 'graphql';
import type { Connection } from 'mongoose';
import type { Config } from './config/config';
import type { Database } from './db/connection';
import { ContextFactory } from './graphql/context-factory';
import { buildAppSchema, type NonEmptyArray } from './graphql/schema';
import { checkResolvers, type AppModule, type ResolverClass } from './graphql/app-module';
import { renderSchema } from './graphql/schema-file';
import { ServiceContainer } from './graphql/container';
import type { Logger } from './log/logger';
import { syncIndexes } from './db/models';
import { bindMailModels, createOutbox, type MailModels } from './mail/create-outbox';
import type { Mailer } from './mail/mailer';
import type { MailOutbox, OutboxTuning } from './mail/outbox';
import {
  AUTH_RESOLVERS,
  bindAuthModels,
  createAuthModule,
  type AuthModels,
} from './modules/auth/auth.module';
import {
  bindChatModels,
  CHAT_RESOLVERS,
  createChatModule,
  type ChatModels,
  type ChatTuning,
} from './modules/chat/chat.module';
import type { ReplyManager } from './modules/chat/streaming/reply-manager';
import { createLlmModule, LLM_RESOLVERS } from './modules/llm/llm.module';
import { createToolsModule, TOOLS_RESOLVERS } from './modules/tools/tools.module';
import {
  ATTACHMENTS_RESOLVERS,
  bindAttachmentsModels,
  createAttachmentsModule,
  type AttachmentsModels,
} from './modules/attachments/attachments.module';
import type { SweepTiming } from './modules/attachments/attachment-sweeper';
import {
  BILLING_RESOLVERS,
  bindBillingModels,
  createBillingModule,
  type BillingModels,
} from './modules/billing/billing.module';
import { publicOriginOf } from './server/http/public-origin';
import {
  bindUsersModels,
  createUsersModule,
  USERS_RESOLVERS,
  type UsersModels,
} from './modules/users/users.module';
import { createPubSub } from '@graphql-yoga/subscription';
import { Metrics, secondsSince } from './metrics/metrics';
import { createAppPubSub, type PalaverPubSub } from './pubsub/pubsub';
import { connectRedis } from './redis/redis-clients';
import { DEFAULT_RATE_LIMITS, RateLimits, type RateLimitRules } from './rate-limit/rate-limits';
import { createGraphQLServer } from './server/graphql-server';
import type { WebSocketGateway } from './server/ws/websocket-gateway';

export type { ChatTuning } from './modules/chat/chat.module';

/** Every resolver class of the schema: the modules' own lists, in the order they are composed. */
export const resolverClasses: NonEmptyArray<ResolverClass> = [
  ...AUTH_RESOLVERS,
  ...USERS_RESOLVERS,
  ...LLM_RESOLVERS,
  ...TOOLS_RESOLVERS,
  ...ATTACHMENTS_RESOLVERS,
  ...BILLING_RESOLVERS,
  ...CHAT_RESOLVERS,
];

/** The SDL the resolvers make, as `npm run schema:emit` writes it (no database needed). */
export async function renderCurrentSchema(): Promise<string> {
  return renderSchema(await buildAppSchema(resolverClasses, createPubSub() as PalaverPubSub));
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
  /** Tests shorten the attachment sweeper's timing to see it act. */
  attachmentSweep?: Partial<SweepTiming>;
}

/** Every collection of the app, each bound by the feature that owns it. */
export type AppModels = UsersModels &
  AuthModels &
  ChatModels &
  AttachmentsModels &
  BillingModels &
  MailModels;

export function bindAppModels(connection: Connection): AppModels {
  return {
    ...bindUsersModels(connection),
    ...bindAuthModels(connection),
    ...bindChatModels(connection),
    ...bindAttachmentsModels(connection),
    ...bindBillingModels(connection),
    ...bindMailModels(connection),
  };
}

export interface App {
  httpServer: Server;
  schema: GraphQLSchema;
  models: AppModels;
  pubSub: PalaverPubSub;
  outbox: MailOutbox;
  websocket: WebSocketGateway;
  replies: ReplyManager;
  /**
   * Refuses new prompts at once (SERVICE_UNAVAILABLE), lets replies finish within the grace
   * period while their subscribers are still connected, then stops HTTP accepting and drains
   * it, closes sockets with 1001, and releases what the app owns.
   */
  stop(): Promise<void>;
}

/**
 * Composes the application without listening, so that main.ts and the tests start it the same
 * way: infrastructure, then the feature modules (each wired in its own `<name>.module.ts`),
 * then the schema and the server. Nothing here but composition.
 */
export async function createApp(deps: AppDependencies): Promise<App> {
  const { config, logger, database } = deps;

  const models = bindAppModels(database.connection);
  await syncIndexes(Object.values(models));
  const metrics = new Metrics();
  const redis = config.redisUrl ? connectRedis(config.redisUrl, logger) : undefined;
  const pubSub = createAppPubSub(redis, logger);
  const rateLimits = new RateLimits(
    { ...DEFAULT_RATE_LIMITS, ...deps.rateLimits },
    redis?.limiter,
    metrics,
  );
  const outbox = createOutbox(config, logger, models.OutboxMail, {
    mailer: deps.mailer,
    tuning: deps.outbox,
  });

  const auth = createAuthModule({
    config,
    logger,
    models,
    pubSub,
    redis,
    rateLimits,
    outbox,
    sessionSweepMs: deps.sessionSweepMs,
  });
  const llm = createLlmModule(config);
  const tools = await createToolsModule({
    config,
    logger,
    pubSub,
    models,
  });
  // Known once the server listens (tests listen on port 0): links are made per request.
  let publicOrigin = (): string => {
    throw new Error('the server is not listening yet');
  };
  const attachments = createAttachmentsModule({
    config,
    logger,
    connection: database.connection,
    models,
    accounts: auth.accountClosure,
    publicOrigin: () => publicOrigin(),
    sweep: deps.attachmentSweep,
  });
  const billing = createBillingModule({ config, logger, models, redis, pubSub });
  const chat = await createChatModule({
    config,
    logger,
    models,
    pubSub,
    redis,
    rateLimits,
    metrics,
    catalog: llm.catalog,
    verifiedGuard: auth.verifiedGuard,
    accounts: auth.accountClosure,
    tools,
    attachments: { prompts: attachments.prompts, library: attachments.library },
    budget: billing.budget,
    tuning: deps.chat,
  });
  const users = createUsersModule({
    models,
    credentials: auth.accountClosure,
    erasers: [chat.eraser, attachments.eraser],
  });
  const modules: AppModule[] = [auth, users, llm, tools, attachments, billing, chat];
  checkResolvers(modules, resolverClasses);

  const container = new ServiceContainer();
  for (const [type, instance] of modules.flatMap((module) => module.resolvers)) {
    container.register(type, instance);
  }
  const schema = await buildAppSchema(resolverClasses, pubSub);
  let stopping: Promise<void> | null = null;
  const server = await createGraphQLServer({
    config,
    logger,
    database,
    schema,
    sessionsEnded: auth.sessionsEnded,
    authenticator: auth.authenticator,
    contextFactory: new ContextFactory(auth.authenticator, container, logger),
    httpTimeouts: deps.httpTimeouts,
    metrics,
    isStopping: () => stopping !== null,
    attachments,
    stripe: billing.stripe,
  });
  publicOrigin = () => config.publicUrl ?? publicOriginOf(server.httpServer, config.http.host);
  metrics.identify(redis?.instanceId ?? 'single');
  metrics.observe({
    activeStreams: () => chat.replies.size,
    sockets: () => server.websocket.connectionCount,
    databasePing: async () => {
      const start = process.hrtime.bigint();
      if (!(await database.isReady())) throw new Error('the database is not answering');
      return secondsSince(start);
    },
    redisPing: redis
      ? async () => {
          const start = process.hrtime.bigint();
          await redis.commands.ping();
          return secondsSince(start);
        }
      : undefined,
  });

  const stop = () =>
    (stopping ??= (async () => {
      // Modules first (new prompts are refused from this moment, replies end while their
      // subscribers are still connected), then HTTP and the sockets, then what they used.
      for (const module of modules) await module.drain?.();
      await server.stop();
      for (const module of modules) await module.stop?.();
      await outbox.close();
      redis?.close();
    })());

  return {
    httpServer: server.httpServer,
    schema,
    models,
    pubSub,
    outbox,
    websocket: server.websocket,
    replies: chat.replies,
    stop,
  };
}
