import { PASS_EVENT_THROUGH } from './field-annotations';
import { buildSchema } from 'type-graphql';
import type { GraphQLFieldResolver, GraphQLSchema } from 'graphql';
import type { PalaverPubSub } from '../pubsub/pubsub';
import { authChecker } from './auth-checker';
import type { ResolverClass } from './app-module';
import type { GraphQLContext } from './context';

export type NonEmptyArray<T> = readonly [T, ...T[]] | [T, ...T[]];

/**
 * Builds the executable schema. Validation is on (TypeGraphQL 2 leaves it off by default);
 * graphql-js already refuses input fields an input type does not declare.
 * Object types are declared with `simpleResolvers: true`: none has field middlewares or field
 * roles, and without it TypeGraphQL wraps every plain property in its middleware chain, which
 * ran for every field of every streamed token.
 */
export async function buildAppSchema(
  resolvers: NonEmptyArray<ResolverClass>,
  pubSub: PalaverPubSub,
): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: resolvers as [ResolverClass, ...ResolverClass[]],
    pubSub: pubSub as any,
    authChecker,
    validate: { forbidUnknownValues: true },
    container: ({ context }: { context: GraphQLContext }) => context.container,
  });
  passEventsThrough(schema);
  return schema;
}

const eventItself: GraphQLFieldResolver<unknown, unknown> = (event) => event;

function passEventsThrough(schema: GraphQLSchema): void {
  const fields = schema.getSubscriptionType()?.getFields() ?? {};
  for (const field of Object.values(fields)) {
    if (field.extensions.passEventThrough === PASS_EVENT_THROUGH.passEventThrough)
      field.resolve = eventItself;
  }
}
