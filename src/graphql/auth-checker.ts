import type { AuthChecker } from 'type-graphql';
import type { GraphQLContext } from './context';
import { UnauthenticatedError } from '../errors/errors';

/**
 * `@Authorized()` means "a signed-in user of a live session". A refused token explains itself
 * (expired, session ended), so the client knows to refresh rather than to sign in again.
 */
export const authChecker: AuthChecker<GraphQLContext> = ({ context }) => {
  if (context.viewer) return true;
  throw context.authError ?? new UnauthenticatedError();
};
