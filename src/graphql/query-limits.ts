import {
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  getOperationAST,
} from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';
import { QueryTooComplexError } from './errors';

/**
 * Cost and depth limits for one operation, applied on HTTP (an Apollo plugin) and on the
 * WebSocket (graphql-ws onSubscribe) alike, so neither transport is a way around them.
 * Costs come from `complexity` on fields (list fields multiply by their `limit`), 1 elsewhere.
 */
export const QUERY_LIMITS = {
  /** Enough for a page of 100 chats with their last messages; far below a pathological query. */
  maxComplexity: 5_000,
  /** The deepest legitimate query (chat → messages → config) is 4; 10 leaves room. */
  maxDepth: 10,
  /** Aliases let one document repeat a field; 50 of them is already unusual. */
  maxAliases: 50,
} as const;

/**
 * Documents already judged within limits, per operation and variables. Apollo and our
 * WebSocket document cache hand back the same DocumentNode for the same text, so a repeated
 * query (every chat-list refresh, every messageStream) is not walked again.
 */
const accepted = new WeakMap<DocumentNode, Set<string>>();
const MAX_ACCEPTED_PER_DOCUMENT = 100;

export function assertWithinQueryLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): void {
  const key = `${operationName ?? ''}|${variables ? JSON.stringify(variables) : ''}`;
  const known = accepted.get(document);
  if (known?.has(key)) return;
  checkQueryLimits(schema, document, operationName, variables);
  const keys = known ?? new Set<string>();
  if (keys.size >= MAX_ACCEPTED_PER_DOCUMENT) keys.clear();
  keys.add(key);
  if (!known) accepted.set(document, keys);
}

function checkQueryLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): void {
  const operation = getOperationAST(document, operationName ?? undefined);
  if (!operation) return; // graphql-js reports the missing operation itself.
  const fragments = fragmentsOf(document);

  const depth = depthOf(operation.selectionSet, fragments, 0, new Set());
  if (depth > QUERY_LIMITS.maxDepth) {
    throw new QueryTooComplexError(
      `The query is ${depth} levels deep; the limit is ${QUERY_LIMITS.maxDepth}.`,
      { depth, maxDepth: QUERY_LIMITS.maxDepth },
    );
  }

  const aliases = countAliases(operation, fragments);
  if (aliases > QUERY_LIMITS.maxAliases) {
    throw new QueryTooComplexError(
      `The query uses ${aliases} aliases; the limit is ${QUERY_LIMITS.maxAliases}.`,
      { aliases, maxAliases: QUERY_LIMITS.maxAliases },
    );
  }

  const complexity = getComplexity({
    schema,
    query: document,
    operationName: operationName ?? undefined,
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

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      fragments.set(definition.name.value, definition);
    }
  }
  return fragments;
}

function depthOf(
  selectionSet: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  depth: number,
  visiting: Set<string>,
): number {
  let deepest = depth;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      deepest = Math.max(
        deepest,
        selection.selectionSet
          ? depthOf(selection.selectionSet, fragments, depth + 1, visiting)
          : depth + 1,
      );
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      deepest = Math.max(deepest, depthOf(selection.selectionSet, fragments, depth, visiting));
    } else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      // A fragment cycle is a validation error graphql-js reports; do not recurse forever here.
      if (!fragment || visiting.has(name)) continue;
      visiting.add(name);
      deepest = Math.max(deepest, depthOf(fragment.selectionSet, fragments, depth, visiting));
      visiting.delete(name);
    }
  }
  return deepest;
}

function countAliases(
  operation: OperationDefinitionNode,
  fragments: Map<string, FragmentDefinitionNode>,
): number {
  let count = 0;
  const seenFragments = new Set<string>();
  const visit = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.alias) count += 1;
        if (selection.selectionSet) visit(selection.selectionSet);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet);
      } else if (!seenFragments.has(selection.name.value)) {
        seenFragments.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) visit(fragment.selectionSet);
      }
    }
  };
  visit(operation.selectionSet);
  return count;
}
