import type { GraphQLContext, Viewer } from './context';
import { UnauthenticatedError } from '../errors/errors';
import type { RequestMeta } from './request-meta';

/** The viewer of an `@Authorized()` operation (the auth checker has already let it in). */
export function viewerOf(context: GraphQLContext): Viewer {
  if (!context.viewer) throw context.authError ?? new UnauthenticatedError();
  return context.viewer;
}

export function requestMetaOf(context: GraphQLContext): RequestMeta {
  return { ip: context.ip, userAgent: context.userAgent };
}
