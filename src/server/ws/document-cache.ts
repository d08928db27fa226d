import {
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  NoSchemaIntrospectionCustomRule,
  type DocumentNode,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { LRUCache } from 'lru-cache';
import { ErrorCode } from '../../errors/error-codes';
import {
  isTooManyTokensError,
  QUERY_LIMITS,
  TOO_MANY_TOKENS_MESSAGE,
} from '../../graphql/query-limits';

/**
 * What the cache may hold, in bytes of estimated heap. A parsed and validated document takes
 * about 50 times its text (figures: bench/FINDINGS.md, “Behind the code's comments”); with the
 * token limit a document is a few KB, so this keeps thousands of real ones.
 */
const MAX_CACHE_BYTES = 32 * 1024 * 1024;
const HEAP_BYTES_PER_CHARACTER = 50;
const MAX_DOCUMENT_LENGTH = 100_000;

export type PreparedDocument =
  { document: DocumentNode; errors: null } | { document: null; errors: readonly GraphQLError[] };

/**
 * Parsed and validated documents by their text, for graphql-ws (Apollo caches its own). A
 * subscription sent again and again, as every chat reply does, is parsed and validated once.
 * The rules match Apollo's: graphql-js's standard set, no introspection when it is off, the
 * same token limit, and no "Did you mean …?" where schema details are hidden.
 *
 * Only documents that passed every check, the query limits included, are kept (`accept`), and
 * the cache is bounded by bytes, not entries: one client sending distinct oversized documents
 * must not grow the server's memory (it did, when refused ones stayed).
 */
export class DocumentCache {
  private readonly entries = new LRUCache<string, DocumentNode>({
    maxSize: MAX_CACHE_BYTES,
    sizeCalculation: (_document, query) => Math.max(1, query.length * HEAP_BYTES_PER_CHARACTER),
  });
  private readonly rules: readonly ValidationRule[];

  constructor(
    private readonly schema: GraphQLSchema,
    introspection: boolean,
    private readonly hideSchemaDetails = false,
  ) {
    this.rules = introspection
      ? specifiedRules
      : [...specifiedRules, NoSchemaIntrospectionCustomRule];
  }

  /** The document for this text: from the cache, or parsed and validated now (not cached yet). */
  prepare(query: string): PreparedDocument {
    const cached = this.entries.get(query);
    if (cached) return { document: cached, errors: null };
    return this.compile(query);
  }

  /** Keeps a document that passed every check, for the next time its text comes. */
  accept(query: string, document: DocumentNode): void {
    this.entries.set(query, document);
  }

  private compile(query: string): PreparedDocument {
    if (query.length > MAX_DOCUMENT_LENGTH) return refused(TOO_MANY_TOKENS_MESSAGE);
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: QUERY_LIMITS.maxTokens });
    } catch (error) {
      const parseError = error as GraphQLError;
      if (isTooManyTokensError(parseError.message)) return refused(TOO_MANY_TOKENS_MESSAGE);
      return { document: null, errors: [withCode(parseError, ErrorCode.GRAPHQL_PARSE_FAILED)] };
    }
    const errors = validate(this.schema, document, this.rules);
    if (errors.length > 0) {
      return {
        document: null,
        errors: errors.map((error) =>
          withCode(error, ErrorCode.GRAPHQL_VALIDATION_FAILED, this.hideSchemaDetails),
        ),
      };
    }
    return { document, errors: null };
  }
}

function refused(message: string): PreparedDocument {
  return {
    document: null,
    errors: [new GraphQLError(message, { extensions: { code: ErrorCode.QUERY_TOO_COMPLEX } })],
  };
}

/** graphql-js ends some validation messages with a suggestion; Apollo strips it the same way. */
const SUGGESTION = / ?Did you mean(.+?)\?$/;

function withCode(error: GraphQLError, code: ErrorCode, hideSuggestions = false): GraphQLError {
  const message = hideSuggestions ? error.message.replace(SUGGESTION, '') : error.message;
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    extensions: { ...error.extensions, code },
  });
}
