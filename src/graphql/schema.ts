import { buildSchema } from 'type-graphql';
import type { GraphQLSchema } from 'graphql';
import type { PalaverPubSub } from '../pubsub/pubsub';
import { authChecker } from './auth-checker';
import type { GraphQLContext } from './context';

/**
 * Builds the executable schema. Validation is on (TypeGraphQL 2 leaves it off by default);
 * graphql-js already refuses input fields an input type does not declare.
 */
export type ResolverClass = abstract new (...args: any[]) => object;
export type NonEmptyArray<T> = readonly [T, ...T[]] | [T, ...T[]];

export async function buildAppSchema(
  resolvers: NonEmptyArray<ResolverClass>,
  pubSub: PalaverPubSub,
): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: resolvers as [ResolverClass, ...ResolverClass[]],
    pubSub: pubSub as any,
    authChecker,
    validate: { forbidUnknownValues: true },
    container: ({ context }: { context: GraphQLContext }) => context.container,
  });
}
