import type { Logger } from '../log/logger';
import type { AppError, UnauthenticatedError } from '../errors/errors';
import type { ServiceContainer } from './container';

/** Who is calling: the user and the session their access token belongs to. */
export interface Viewer {
  userId: string;
  sessionId: string;
}

/** What a bearer token came to: a viewer until `expiresAt`, or nobody (with why, if refused). */
export type Authentication =
  | { viewer: Viewer; expiresAt: Date; error: null }
  | { viewer: null; expiresAt?: undefined; error: UnauthenticatedError | null };

/** Turns an `Authorization` value (HTTP header or WebSocket connectionParams) into a viewer. */
export interface Authenticate {
  authenticate(authorization: unknown): Promise<Authentication>;
}

/**
 * What every resolver gets. Made once per HTTP request, and once per operation on a
 * WebSocket (graphql-ws calls `context` per subscription), so per-request caches such as
 * DataLoaders never outlive one operation.
 */
export interface GraphQLContext {
  requestId: string;
  transport: 'http' | 'ws';
  ip: string;
  userAgent?: string;
  /** Set when the caller presented a valid token of a live session. */
  viewer: Viewer | null;
  /** Why a presented token was refused; thrown only by operations that need a viewer. */
  authError: AppError | null;
  container: ServiceContainer;
  logger: Logger;
  /** Per-operation memo for loaders and other request-scoped helpers, keyed by owner. */
  scope: Map<unknown, unknown>;
}
