import type { Server as HttpServer, IncomingMessage } from 'node:http';
import {
  execute,
  getOperationAST,
  GraphQLError,
  type ExecutionArgs,
  type GraphQLSchema,
} from 'graphql';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Logger } from '../../log/logger';
import type { Authenticator } from '../../modules/auth/authenticator';
import type { ContextFactory } from '../../graphql/context-factory';
import { assertWithinQueryLimits } from '../../graphql/query-limits';
import type { SessionEndedFeed } from '../../modules/auth/session-ended';
import { clientIpOf, compileTrust, type TrustProxy } from '../http/client-ip';
import { isAllowedOrigin } from './allowed-origin';
import { CompiledSubscriptions } from './compiled-subscriptions';
import { DocumentCache } from './document-cache';
import { ErrorMasking } from './error-masking';
import { ResultSenders } from './result-senders';
import { boundUnreadBytes } from './slow-readers';
import { batchRepliesPerTurn } from './write-batching';
import { forbid, SocketRegistry } from './socket-registry';
import { SocketOperationSpans } from './operation-spans';
import { BadRequestError, UnauthenticatedError } from '../../errors/errors';

/** Frames larger than this close the socket; a long prompt is ~128 KB. */
const MAX_PAYLOAD_BYTES = 1024 * 1024;
/** Unread bytes one socket may hold before it is closed with 1013 (see slow-readers.ts). */
const MAX_UNREAD_BYTES = 4 * 1024 * 1024;
/** Operations one socket may have running at once (a chat UI needs a handful). */
export const MAX_OPERATIONS_PER_SOCKET = 100;
/** Close code for a socket over the per-user cap: Policy Violation (RFC 6455). */
const CLOSE_POLICY_VIOLATION = 1008;
/** graphql-ws's default; pings keep idle proxies from dropping quiet sockets. */
const KEEP_ALIVE_MS = 12_000;

interface SocketState {
  ip?: string;
  expiresAt?: Date;
  /** The client's trace context from connectionParams (`traceparent`), for every operation. */
  trace?: Record<string, unknown>;
}

/**
 * graphql-ws on the HTTP server's port and path. Sockets must authenticate in
 * connection_init (4403 otherwise); every operation on them passes the same validation,
 * limits, authentication and error masking as over HTTP. How a subscription's events reach
 * the socket, and the contract their source must meet: README.md beside this file.
 */
export class WebSocketGateway {
  readonly registry = new SocketRegistry();
  private readonly wss: WebSocketServer;
  private readonly documents: DocumentCache;
  private readonly subscriptions: CompiledSubscriptions;
  private readonly dispose: () => void | Promise<void>;
  private readonly trust: ReturnType<typeof compileTrust>;
  private readonly states = new WeakMap<object, SocketState>();
  private readonly stopSessionListener: () => Promise<void>;
  private readonly errors: ErrorMasking;
  private readonly senders: ResultSenders;
  private readonly spans = new SocketOperationSpans();

  constructor(
    private readonly options: {
      httpServer: HttpServer;
      schema: GraphQLSchema;
      authenticator: Authenticator;
      contextFactory: ContextFactory;
      sessionsEnded: SessionEndedFeed;
      logger: Logger;
      trustProxy: TrustProxy;
      /** Browser origins allowed to open a socket (CORS_ORIGINS); `*` allows any. */
      corsOrigins: readonly string[];
      /** Sockets one user may hold open on this instance (tabs and devices). */
      maxSocketsPerUser: number;
      introspection: boolean;
      /** Validation errors without "Did you mean …?", as Apollo's hideSchemaDetailsFromClientErrors. */
      hideSchemaDetails: boolean;
      exposeInternals: boolean;
    },
  ) {
    this.trust = compileTrust(options.trustProxy);
    this.documents = new DocumentCache(
      options.schema,
      options.introspection,
      options.hideSchemaDetails,
    );
    this.subscriptions = new CompiledSubscriptions(options.schema);
    this.errors = new ErrorMasking(options.logger, options.exposeInternals);
    this.senders = new ResultSenders(this.errors);
    // Compression costs CPU and memory per socket for frames of a few bytes: off.
    this.wss = new WebSocketServer({
      server: options.httpServer,
      path: '/graphql',
      perMessageDeflate: false,
      maxPayload: MAX_PAYLOAD_BYTES,
      // Browsers let any page open a socket to any host (no CORS for WebSocket): a socket from
      // a page of another origin is refused at the handshake (403), as CORS_ORIGINS says.
      verifyClient: (
        { origin, req }: { origin?: string; req: IncomingMessage },
        done: (allowed: boolean, status?: number, message?: string) => void,
      ) =>
        isAllowedOrigin(origin, req.headers.host, options.corsOrigins)
          ? done(true)
          : done(false, 403, 'This origin may not open a socket (CORS_ORIGINS)'),
    });
    this.wss.on('connection', (socket, request) => {
      batchRepliesPerTurn(socket, request.socket);
      boundUnreadBytes(socket, MAX_UNREAD_BYTES, (bufferedBytes) =>
        options.logger.warn(
          { bufferedBytes, userId: this.registry.viewerOf(socket)?.userId },
          'socket closed: its client stopped reading',
        ),
      );
    });
    this.dispose = useServer<Record<string, unknown>, Record<PropertyKey, never>>(
      {
        schema: options.schema,
        subscribe: (args) =>
          this.spans.within(args.contextValue, () =>
            this.subscriptions.subscribe(args, this.senders.of(args.contextValue)),
          ),
        execute: (args) => this.spans.within(args.contextValue, () => execute(args)),
        onConnect: (ctx) => this.onConnect(ctx.extra, ctx.connectionParams),
        onSubscribe: (ctx, id, payload) => {
          // graphql-ws has already reserved this operation's id: it counts itself.
          if (Object.keys(ctx.subscriptions).length > MAX_OPERATIONS_PER_SOCKET) {
            return [
              new BadRequestError(
                `At most ${MAX_OPERATIONS_PER_SOCKET} operations may run at once on one socket; complete some first.`,
              ),
            ];
          }
          return this.onSubscribe(ctx.extra, id, payload);
        },
        onNext: (_ctx, _id, _payload, args, result) =>
          this.errors.masked(result, args.contextValue, args.variableValues),
        onError: (ctx, id, payload, errors) => {
          this.spans.failed(ctx.extra.socket, id);
          return this.errors.formatted(errors, payload.variables);
        },
        onComplete: (ctx, id) => this.spans.end(ctx.extra.socket, id),
      },
      this.wss,
      KEEP_ALIVE_MS,
    ).dispose;
    this.stopSessionListener = options.sessionsEnded.subscribe(
      (ended) => this.registry.onSessionEnded(ended),
      (error) => options.logger.error({ err: error }, 'session event listener stopped'),
    );
  }

  private async onConnect(
    extra: Extra,
    params: Record<string, unknown> | undefined,
  ): Promise<boolean> {
    const raw = params?.authorization ?? params?.Authorization;
    const authorization = typeof raw === 'string' ? raw : undefined;
    const auth = await this.options.authenticator.authenticate(authorization ?? null);
    if (!auth.viewer) return false; // graphql-ws closes with 4403 Forbidden
    const { maxSocketsPerUser } = this.options;
    if (this.registry.countFor(auth.viewer.userId) >= maxSocketsPerUser) {
      extra.socket.close(
        CLOSE_POLICY_VIOLATION,
        `At most ${maxSocketsPerUser} sockets per user; close another one first.`,
      );
      return false;
    }
    const ip = clientIpOf(extra.request, this.trust);
    this.states.set(extra.socket, { ip, expiresAt: auth.expiresAt, trace: traceOf(params) });
    this.registry.add(extra.socket, auth.viewer, auth.expiresAt);
    return true;
  }

  private async onSubscribe(
    extra: Extra,
    id: string,
    payload: {
      query: string;
      operationName?: string | null;
      variables?: Record<string, unknown> | null;
      extensions?: Record<string, unknown> | null;
    },
  ): Promise<ExecutionArgs | readonly GraphQLError[]> {
    const prepared = this.documents.prepare(payload.query);
    if (prepared.errors) return prepared.errors;
    let variables: Record<string, unknown> | null | undefined;
    try {
      variables = assertWithinQueryLimits(
        this.options.schema,
        prepared.document,
        payload.operationName,
        payload.variables,
      );
    } catch (error) {
      return [error as GraphQLError];
    }
    this.documents.accept(payload.query, prepared.document);
    // The socket's viewer stays registered only while its session lives and its token is
    // valid: a session that ends is dropped from the registry at once (and the socket closed),
    // so every operation is checked without another database round trip.
    const state = this.states.get(extra.socket) ?? {};
    const viewer = this.registry.viewerOf(extra.socket);
    if (!viewer || !state.expiresAt || state.expiresAt.getTime() <= Date.now()) {
      forbid(extra.socket, 'Session ended');
      return [new UnauthenticatedError('sessionEnded')];
    }
    const auth = { viewer, expiresAt: state.expiresAt, error: null };
    const contextValue = this.options.contextFactory.forSocket(
      extra.request,
      state.ip ?? 'unknown',
      auth,
    );
    this.senders.register(contextValue, extra.socket, id, variables);
    const operation = getOperationAST(prepared.document, payload.operationName);
    this.spans.start(extra.socket, id, contextValue, {
      type: operation?.operation ?? 'unknown',
      name: operation?.name?.value ?? payload.operationName,
      // The operation's own context first, then the socket's.
      carrier: { ...state.trace, ...traceOf(payload.extensions) },
    });
    return {
      schema: this.options.schema,
      document: prepared.document,
      operationName: payload.operationName,
      variableValues: variables,
      contextValue,
    };
  }

  /** Closes every socket with 1001 (Going Away) and stops accepting new ones. */
  async close(): Promise<void> {
    await this.stopSessionListener();
    this.registry.clear();
    await this.dispose();
  }

  get connectionCount(): number {
    return this.wss.clients.size;
  }
}

/** W3C trace context a client may send in connectionParams or an operation's extensions. */
function traceOf(
  carrier: Record<string, unknown> | null | undefined,
): Record<string, unknown> | undefined {
  if (!carrier) return undefined;
  const { traceparent, tracestate } = carrier;
  return typeof traceparent === 'string' ? { traceparent, tracestate } : undefined;
}
