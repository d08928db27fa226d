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
import { ErrorCode } from '../graphql/error-codes';

/** Distinct documents kept parsed and validated; clients send a handful, attackers many. */
const MAX_CACHED_DOCUMENTS = 1_000;
const MAX_DOCUMENT_LENGTH = 100_000;

export type PreparedDocument =
  { document: DocumentNode; errors: null } | { document: null; errors: readonly GraphQLError[] };

/**
 * Parsed and validated documents by their text, for graphql-ws (Apollo caches its own). A
 * subscription sent again and again, as every chat reply does, is parsed and validated once.
 * The rules match Apollo's: graphql-js's standard set, and no introspection when it is off.
 */
export class DocumentCache {
  private readonly entries = new Map<string, PreparedDocument>();
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

  prepare(query: string): PreparedDocument {
    const cached = this.entries.get(query);
    if (cached) {
      // Re-insert to keep the map in least-recently-used order.
      this.entries.delete(query);
      this.entries.set(query, cached);
      return cached;
    }
    const prepared = this.compile(query);
    this.entries.set(query, prepared);
    if (this.entries.size > MAX_CACHED_DOCUMENTS) {
      this.entries.delete(this.entries.keys().next().value!);
    }
    return prepared;
  }

  private compile(query: string): PreparedDocument {
    if (query.length > MAX_DOCUMENT_LENGTH) {
      return {
        document: null,
        errors: [
          withCode(new GraphQLError('The document is too large.'), ErrorCode.QUERY_TOO_COMPLEX),
        ],
      };
    }
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (error) {
      return {
        document: null,
        errors: [withCode(error as GraphQLError, ErrorCode.GRAPHQL_PARSE_FAILED)],
      };
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
