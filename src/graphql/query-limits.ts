import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
  GraphQLError,
  getOperationAST,
  validate,
} from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';
import { BadUserInputError, QueryTooComplexError } from '../errors/errors';

/**
 * Limits on one operation, applied on HTTP (Apollo's parse options and a plugin) and on the
 * WebSocket (graphql-ws onSubscribe) alike, so neither transport is a way around them:
 * - tokens, counted while parsing (graphql-js's `maxTokens`), so a huge document costs no more
 *   than reading 1,000 tokens and can never nest deep enough to overflow the parser's stack;
 * - depth, aliases and directives, at graphql-armor's defaults (6, 15, 50), introspection's
 *   own nesting aside (the IDE's schema query is deeper, and introspection is off in production);
 * - the depth of the variables' JSON, before graphql-js coerces them recursively;
 * - cost: `complexity` on fields (list fields multiply by their `limit`, clamped to the range
 *   the field accepts), 1 elsewhere.
 */
export const QUERY_LIMITS = {
  /** graphql-armor's default; the IDE's introspection query is ~200 tokens. */
  maxTokens: 1_000,
  /** Enough for a page of 100 chats with their last messages; far below a pathological query. */
  maxComplexity: 5_000,
  /** The deepest legitimate query (sendMessage → chat → messages → config → llm) is 5. */
  maxDepth: 6,
  /** Aliases let one document repeat a field. */
  maxAliases: 15,
  maxDirectives: 50,
  /** Profile metadata may nest 10 deep inside `input`; 16 leaves room and stops the abuse. */
  maxVariableDepth: 16,
} as const;

/**
 * Introspection nests deeper than any operation of ours (type references of type references):
 * graphql-js's own introspection query is 15 levels deep. It has that limit instead (and is off
 * in production anyway).
 */
const INTROSPECTION_MAX_DEPTH = 15;

/**
 * Documents already judged within limits. Apollo and our WebSocket document cache hand back
 * the same DocumentNode for the same text, so a repeated query (every chat-list refresh, every
 * messageStream) is not walked again. The cost depends on the operation and on the variables
 * that can change it (numbers such as `limit`, booleans of @include/@skip): the key holds only
 * those, so a client cannot grow the cache with variables of its choosing.
 */
const accepted = new WeakMap<DocumentNode, Set<string>>();
const MAX_ACCEPTED_PER_DOCUMENT = 100;

/**
 * Throws when the operation is over a limit. Returns the variables the operation declares,
 * which are what executes: the others are ignored, as the spec's CoerceVariableValues says
 * (clients share one variables object across documents), and never walked, cached or echoed.
 */
export function assertWithinQueryLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  given: Record<string, unknown> | null | undefined,
): Record<string, unknown> | null | undefined {
  const operation = getOperationAST(document, operationName ?? undefined);
  if (!operation) return given; // graphql-js and Apollo report the missing operation themselves.
  const variables = declaredVariables(operation, given);
  assertShallowVariables(variables);
  const key = `${operationName ?? ''}|${costKeyOf(operation, variables)}`;
  const known = accepted.get(document);
  if (known?.has(key)) return variables;
  checkQueryLimits(schema, document, operation, variables);
  const keys = known ?? new Set<string>();
  if (keys.size >= MAX_ACCEPTED_PER_DOCUMENT) keys.clear();
  keys.add(key);
  if (!known) accepted.set(document, keys);
  return variables;
}

/** The values of the variables the cost can depend on: numbers and booleans. */
function costKeyOf(
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | null | undefined,
): string {
  const parts: string[] = [];
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    const value = variables?.[name];
    if (typeof value === 'number' || typeof value === 'boolean') parts.push(`${name}=${value}`);
  }
  return parts.join(',');
}

/** Only the variables the operation declares (the same object when there is nothing to drop). */
function declaredVariables(
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | null | undefined,
): Record<string, unknown> | null | undefined {
  if (!variables || typeof variables !== 'object') return variables;
  const declared = new Set(
    (operation.variableDefinitions ?? []).map((definition) => definition.variable.name.value),
  );
  if (Object.keys(variables).every((name) => declared.has(name))) return variables;
  return Object.fromEntries(Object.entries(variables).filter(([name]) => declared.has(name)));
}

/** An iterative walk: a recursive one would overflow on exactly the input it refuses. */
function assertShallowVariables(variables: unknown): void {
  const stack: Array<{ value: unknown; depth: number }> = [{ value: variables, depth: 0 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth >= QUERY_LIMITS.maxVariableDepth) {
      throw new BadUserInputError(
        { variables: `Variables may nest at most ${QUERY_LIMITS.maxVariableDepth} levels deep.` },
        `Variables may nest at most ${QUERY_LIMITS.maxVariableDepth} levels deep.`,
      );
    }
    for (const inner of Object.values(value)) stack.push({ value: inner, depth: depth + 1 });
  }
}

function checkQueryLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | null | undefined,
): void {
  const refusal = shapeRefusalOf(schema, document);
  if (refusal) throw new QueryTooComplexError(refusal);

  const complexity = getComplexity({
    schema,
    query: document,
    operationName: operation.name?.value,
    variables: variables ?? {},
    estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
  });
  if (complexity > QUERY_LIMITS.maxComplexity) {
    throw new QueryTooComplexError(
      `The query costs ${complexity}; the limit is ${QUERY_LIMITS.maxComplexity}.`,
      { complexity, maxComplexity: QUERY_LIMITS.maxComplexity },
    );
  }
}

/**
 * graphql-armor's depth, alias and directive rules. They run here rather than among Apollo's and
 * graphql-ws's validation rules so that both transports answer QUERY_TOO_COMPLEX (a validation
 * rule's error would be GRAPHQL_VALIDATION_FAILED) and so that an accepted document is not
 * walked again (the cache above).
 * - Fragments, inline or spread, add no level (`flattenFragments`): Apollo Client and urql
 *   users write fragments, and a fragment is not a deeper query.
 * - Aliases of `__typename` count too (`allowList: []`): a thousand of them cost as much to
 *   answer as a thousand of any field.
 * - Introspection's `__schema` is left out of the depth of 6 and has a rule of its own at 15:
 *   graphql-js's own introspection query, which GraphiQL and codegen send, is that deep.
 */
function shapeRefusalOf(schema: GraphQLSchema, document: DocumentNode): string | undefined {
  try {
    const [error] = validate(schema, document, SHAPE_RULES, { maxErrors: 1 });
    return error?.message;
  } catch (error) {
    // The rules throw their refusal (graphql-armor's `propagateOnRejection`), worded as a
    // syntax error; it is a limit, not a syntax error.
    if (error instanceof GraphQLError) return error.message.replace(/^Syntax Error: /, '');
    throw error;
  }
}

const SHAPE_RULES: ValidationRule[] = [
  maxDepthRule({ n: QUERY_LIMITS.maxDepth, flattenFragments: true, ignoreIntrospection: true }),
  maxDepthRule({ n: INTROSPECTION_MAX_DEPTH, flattenFragments: true, ignoreIntrospection: false }),
  maxAliasesRule({ n: QUERY_LIMITS.maxAliases, allowList: [] }),
  maxDirectivesRule({ n: QUERY_LIMITS.maxDirectives }),
];

/**
 * graphql-js's parse error once a document passes `maxTokens`, as a QUERY_TOO_COMPLEX refusal
 * (on HTTP Apollo reports it as a parse failure; format-error rewrites it).
 */
export function isTooManyTokensError(message: string): boolean {
  return /^Syntax Error: Document contains more that \d+ tokens/.test(message);
}

export const TOO_MANY_TOKENS_MESSAGE = `The document is longer than ${QUERY_LIMITS.maxTokens} tokens.`;
