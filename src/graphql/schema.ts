import { buildSchema, type NonEmptyArray } from 'type-graphql';
import type { GraphQLSchema } from 'graphql';
import type { PalaverPubSub } from '../pubsub/pubsub';
import { authChecker } from './auth-checker';
import type { GraphQLContext } from './context';

/**
 * Builds the executable schema. Validation is on (TypeGraphQL 2 leaves it off by default) with
 * unknown input properties forbidden, so an input accepts only its own declared fields.
 */
export async function buildAppSchema(
  resolvers: NonEmptyArray<Function>,
  pubSub: PalaverPubSub,
): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers,
    pubSub: pubSub as any,
    authChecker,
    validate: { forbidUnknownValues: true, whitelist: true, forbidNonWhitelisted: true },
    container: ({ context }: { context: GraphQLContext }) => context.container,
  });
}
