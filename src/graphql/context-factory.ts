import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../log/logger';
import type { ServiceContainer } from './container';
import type { Authenticate, Authentication, GraphQLContext } from './context';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_USER_AGENT_LENGTH = 512;

/** Builds the per-operation context for either transport. */
export class ContextFactory {
  constructor(
    private readonly authenticator: Authenticate,
    private readonly container: ServiceContainer,
    private readonly logger: Logger,
  ) {}

  /** A caller-supplied `X-Request-Id` is kept when it is harmless, for tracing across services. */
  requestIdOf(request: IncomingMessage): string {
    const header = request.headers['x-request-id'];
    return typeof header === 'string' && REQUEST_ID_PATTERN.test(header) ? header : randomUUID();
  }

  async forHttp(request: IncomingMessage, ip: string, requestId: string): Promise<GraphQLContext> {
    const auth = await this.authenticator.authenticate(request.headers.authorization);
    return this.build('http', request, ip, requestId, auth);
  }

  forSocket(request: IncomingMessage, ip: string, auth: Authentication): GraphQLContext {
    return this.build('ws', request, ip, randomUUID(), auth);
  }

  private build(
    transport: GraphQLContext['transport'],
    request: IncomingMessage,
    ip: string,
    requestId: string,
    auth: Authentication,
  ): GraphQLContext {
    const userAgent = request.headers['user-agent']?.slice(0, MAX_USER_AGENT_LENGTH);
    return new OperationContext(
      requestId,
      transport,
      ip,
      userAgent,
      auth,
      this.container,
      this.logger,
    );
  }
}

/**
 * A class rather than a literal so that the lazy `logger` getter lives on the prototype: Apollo
 * copies every context with `Object.assign`, which would call an own getter and build a child
 * logger for every request (figures: bench/FINDINGS.md, “Behind the code's comments”).
 */
class OperationContext implements GraphQLContext {
  readonly viewer: GraphQLContext['viewer'];
  readonly authError: GraphQLContext['authError'];
  readonly scope = new Map<unknown, unknown>();
  private childLogger: Logger | undefined;

  constructor(
    readonly requestId: string,
    readonly transport: GraphQLContext['transport'],
    readonly ip: string,
    readonly userAgent: string | undefined,
    auth: Authentication,
    readonly container: ServiceContainer,
    private readonly baseLogger: Logger,
  ) {
    this.viewer = auth.viewer;
    this.authError = auth.error;
  }

  /** Made on first use: most operations never log, and a child logger per request costs. */
  get logger(): Logger {
    return (this.childLogger ??= this.baseLogger.child({ requestId: this.requestId }));
  }
}
