import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { ValidationError } from 'class-validator';
import { mongo } from 'mongoose';
import { ArgumentValidationError } from 'type-graphql';
import { ErrorCode, errorMessages, isKnownErrorCode } from '../errors/error-codes';
import { isTooManyTokensError, TOO_MANY_TOKENS_MESSAGE } from './query-limits';

export interface FormatErrorOptions {
  /** Outside development the client never sees an internal message or a stack trace. */
  exposeInternals: boolean;
  requestId?: string;
}

/**
 * Turns any error into what the client may see, on HTTP (Apollo's formatError) and on the
 * WebSocket (graphql-ws's onNext/onError) alike. Expected errors keep their code and message;
 * everything else is logged with the request id and masked to INTERNAL_SERVER_ERROR.
 */
export function formatError(
  formatted: GraphQLFormattedError,
  error: unknown,
  options: FormatErrorOptions,
): GraphQLFormattedError {
  const original = originalErrorOf(error);

  if (original instanceof ArgumentValidationError) {
    const fields = fieldsFromValidationErrors(original.extensions.validationErrors);
    return {
      message: Object.values(fields)[0] ?? errorMessages.BAD_USER_INPUT,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.BAD_USER_INPUT, fields },
    };
  }

  // A code-less coercion error, or whatever code it came with (Apollo adds BAD_USER_INPUT on a
  // document it has seen before) a message that quotes a variable's value (a password): the
  // client's bad input, named by field, the value never repeated.
  const coercion = isVariableCoercionError(error);
  if (coercion || quotesVariableValue(formatted.message)) {
    const variable = describeVariableError(formatted.message);
    if (variable) {
      return {
        message: variable.message,
        locations: formatted.locations,
        extensions: { code: ErrorCode.BAD_USER_INPUT, fields: variable.fields },
      };
    }
    // Apollo raises a few other request-level refusals the same code-less way (a persisted
    // query of an unknown version, a hash that does not match its text): the request's fault.
    return {
      message: formatted.message,
      locations: formatted.locations,
      extensions: { code: ErrorCode.BAD_REQUEST },
    };
  }

  if (isTooManyTokensError(formatted.message)) {
    return {
      message: TOO_MANY_TOKENS_MESSAGE,
      extensions: { code: ErrorCode.QUERY_TOO_COMPLEX },
    };
  }

  if (!isUnexpectedError(error, formatted.extensions?.code)) {
    const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  }

  // The database out of reach is no bug of ours and passes: the client may retry (it is still
  // logged as unexpected, with the request id).
  if (isDatabaseUnavailable(original)) {
    return {
      message: 'The database is unavailable right now; try again in a few seconds.',
      locations: formatted.locations,
      path: formatted.path,
      extensions: {
        code: ErrorCode.SERVICE_UNAVAILABLE,
        retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
        ...(options.requestId ? { requestId: options.requestId } : {}),
      },
    };
  }

  return {
    message: errorMessages.INTERNAL_SERVER_ERROR,
    locations: formatted.locations,
    path: formatted.path,
    extensions: {
      code: ErrorCode.INTERNAL_SERVER_ERROR,
      ...(options.requestId ? { requestId: options.requestId } : {}),
      ...(options.exposeInternals ? { debugMessage: messageOf(original) } : {}),
    },
  };
}

/**
 * Expected errors are GraphQLErrors carrying one of our codes (thrown by our flows, or by
 * graphql-js and Apollo for bad documents and variables); anything else is a bug to log.
 */
export function isUnexpectedError(error: unknown, code?: unknown): boolean {
  const original = originalErrorOf(error);
  if (original instanceof ArgumentValidationError || isVariableCoercionError(error)) return false;
  const effectiveCode =
    code ?? (error instanceof GraphQLError ? error.extensions?.code : undefined);
  return !(
    isKnownErrorCode(effectiveCode) &&
    effectiveCode !== ErrorCode.INTERNAL_SERVER_ERROR &&
    isGraphQLError(original)
  );
}

/**
 * Apollo Server 5 reports variables that do not fit their types (a missing field, an unknown
 * one, a wrong scalar) as code-less errors marked HTTP 400, raised before execution (no path).
 * They are the client's bad input.
 */
function isVariableCoercionError(error: unknown): boolean {
  if (!(error instanceof GraphQLError) || error.path) return false;
  // graphql-jit's errors may carry no extensions object at all.
  const extensions = (error.extensions ?? {}) as { code?: unknown; http?: { status?: number } };
  return extensions.code === undefined && extensions.http?.status === 400;
}

/**
 * graphql-js's reasons quote the value too ("String cannot represent a non string value: {…}",
 * "Value \"…\" does not exist in \"LlmProvider\" enum."): keep what was expected, drop what came.
 */
function withoutValue(reason: string): string {
  return reason
    .replace(/(cannot represent[^:]*?value)\s*:[\s\S]*$/i, '$1.')
    .replace(
      /^Value [\s\S]*? does not exist in ("[^"]+") enum\./,
      'The value does not exist in the $1 enum.',
    );
}

/** graphql-js's wording for a variable that does not fit its type, with the whole value. */
function quotesVariableValue(message: string): boolean {
  return /^Variable "\$\w+" got invalid value /.test(message);
}

/**
 * graphql-js words these as `Variable "$input" got invalid value <the whole value>; <reason>`,
 * which echoes passwords into client-side error reports. Keep the reason, name the field.
 */
export function describeVariableError(original: string): {
  message: string;
  fields: Record<string, string>;
} | null {
  const match = /^Variable "\$(\w+)" got invalid value [\s\S]*?(?: at "([^"]+)")?; ([\s\S]*)$/.exec(
    original,
  );
  if (!match) return /^Variable "\$\w+"/.test(original) ? { message: original, fields: {} } : null;
  const [, variable, at, quoted] = match as unknown as [string, string, string | undefined, string];
  const reason = withoutValue(quoted);
  const named = /^Field "([^"]+)"/.exec(reason)?.[1];
  const path = at ? at.split('.').slice(1) : [];
  if (named) path.push(named);
  const field = path.length > 0 ? path.join('.') : variable;
  return { message: `Variable "$${variable}" is invalid: ${reason}`, fields: { [field]: reason } };
}

const DATABASE_RETRY_AFTER_SECONDS = 5;

/** The driver's errors for a server it cannot reach, or that stopped answering. */
function isDatabaseUnavailable(error: unknown): boolean {
  return (
    error instanceof mongo.MongoServerSelectionError ||
    error instanceof mongo.MongoNetworkError ||
    error instanceof mongo.MongoOperationTimeoutError ||
    error instanceof mongo.MongoTopologyClosedError
  );
}

/** graphql-js wraps resolver errors; the thrown error is what tells expected from not. */
function originalErrorOf(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError) {
    current = current.originalError;
  }
  return current;
}

function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof GraphQLError;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * class-validator nests errors by input object; clients want one message per form field, so
 * the path is flattened below the argument (`input.email` → `email`, `config.llm` stays dotted).
 */
export function fieldsFromValidationErrors(errors: ValidationError[]): Record<string, string> {
  const fields: Record<string, string> = {};
  const visit = (error: ValidationError, path: string[]) => {
    const here = [...path, error.property];
    const message = error.constraints ? Object.values(error.constraints)[0] : undefined;
    if (message) fields[here.join('.')] = message;
    for (const child of error.children ?? []) visit(child, here);
  };
  for (const error of errors) {
    // Top-level errors are on the argument (`input`); its children are the fields.
    if (error.children && error.children.length > 0 && !error.constraints) {
      for (const child of error.children) visit(child, []);
    } else {
      visit(error, []);
    }
  }
  return fields;
}
