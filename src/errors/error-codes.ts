/**
 * The one registry of error codes a client can rely on (`extensions.code`), each with the
 * message it gets by default. Flows throw `AppError`s with one of these codes, never ad-hoc
 * strings; anything else is masked to INTERNAL_SERVER_ERROR.
 */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  CONFLICT: 'CONFLICT',
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  INVALID_TOKEN: 'INVALID_TOKEN',
  EMAIL_NOT_VERIFIED: 'EMAIL_NOT_VERIFIED',
  /** The password was right; `extensions.challenge` and `extensions.methods` go to verifySecondFactor. */
  SECOND_FACTOR_REQUIRED: 'SECOND_FACTOR_REQUIRED',
  /** The account was disabled by an operator: no sign-in of any kind. */
  ACCOUNT_DISABLED: 'ACCOUNT_DISABLED',
  RATE_LIMITED: 'RATE_LIMITED',
  /** The month's budget cannot cover this reply; `extensions.resetsAt` says when it renews. */
  BUDGET_EXCEEDED: 'BUDGET_EXCEEDED',
  LLM_UNAVAILABLE: 'LLM_UNAVAILABLE',
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  /** Retryable: the server cannot take this now (it is shutting down); retryAfterSeconds says when. */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
  // Apollo Server's own codes for documents that do not parse or validate; kept as Apollo
  // names them, because Apollo Client and urql users already handle these.
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  // Apollo Server's codes for requests refused before execution (CSRF, a mutation by GET, no
  // query, batching, a body that is not JSON, persisted queries, an unknown operationName).
  // PERSISTED_QUERY_NOT_FOUND is what automatic-persisted-query links retry on.
  BAD_REQUEST: 'BAD_REQUEST',
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  PERSISTED_QUERY_NOT_SUPPORTED: 'PERSISTED_QUERY_NOT_SUPPORTED',
  OPERATION_RESOLUTION_FAILURE: 'OPERATION_RESOLUTION_FAILURE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const errorMessages: Record<ErrorCode, string> = {
  UNAUTHENTICATED: 'You must be signed in to do this.',
  FORBIDDEN: 'You are not allowed to do this.',
  NOT_FOUND: 'Not found.',
  BAD_USER_INPUT: 'Some of the input is invalid.',
  CONFLICT: 'That already exists.',
  INVALID_CREDENTIALS: 'The email or password is incorrect.',
  INVALID_TOKEN: 'The link is invalid or has expired. Ask for a new one.',
  EMAIL_NOT_VERIFIED: 'Verify your email address first.',
  SECOND_FACTOR_REQUIRED: 'Enter the code from your authenticator app, or a recovery code.',
  ACCOUNT_DISABLED: 'This account has been disabled.',
  RATE_LIMITED: 'Too many requests. Try again later.',
  BUDGET_EXCEEDED: "This month's budget cannot cover another reply.",
  LLM_UNAVAILABLE: 'The language model is unavailable right now.',
  QUERY_TOO_COMPLEX: 'The query is too complex.',
  SERVICE_UNAVAILABLE: 'The server cannot take this right now; try again shortly.',
  INTERNAL_SERVER_ERROR: 'Something went wrong on our side.',
  GRAPHQL_PARSE_FAILED: 'The document could not be parsed.',
  GRAPHQL_VALIDATION_FAILED: 'The document is not valid against the schema.',
  BAD_REQUEST: 'The request is malformed.',
  PERSISTED_QUERY_NOT_FOUND: 'PersistedQueryNotFound',
  PERSISTED_QUERY_NOT_SUPPORTED: 'PersistedQueryNotSupported',
  OPERATION_RESOLUTION_FAILURE: 'The operation to run could not be determined.',
};

/**
 * Why a token was refused (`extensions.reason` on UNAUTHENTICATED, and on refreshSession's
 * INVALID_TOKEN), so a client switches on it instead of parsing the message: TOKEN_EXPIRED →
 * refreshSession and retry; SESSION_ENDED, INVALID_TOKEN, REFRESH_REUSED → sign in again.
 */
export const AuthRefusalReason = {
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  SESSION_ENDED: 'SESSION_ENDED',
  INVALID_TOKEN: 'INVALID_TOKEN',
  REFRESH_REUSED: 'REFRESH_REUSED',
} as const;

export type AuthRefusalReason = (typeof AuthRefusalReason)[keyof typeof AuthRefusalReason];

/** Every way a token is refused: its reason and the message the client gets. */
export const authRefusals = {
  /** An operation that needs a viewer, sent without a token. */
  missing: { reason: 'INVALID_TOKEN', message: 'You must be signed in to do this.' },
  malformed: {
    reason: 'INVALID_TOKEN',
    message: 'The Authorization value must be "Bearer <accessToken>".',
  },
  accessExpired: {
    reason: 'TOKEN_EXPIRED',
    message: 'The access token has expired; refresh the session.',
  },
  accessInvalid: { reason: 'INVALID_TOKEN', message: 'The access token is invalid.' },
  sessionEnded: { reason: 'SESSION_ENDED', message: 'The session has ended; sign in again.' },
  refreshInvalid: {
    reason: 'INVALID_TOKEN',
    message: 'The refresh token is invalid or has expired; sign in again.',
  },
  refreshReused: {
    reason: 'REFRESH_REUSED',
    message:
      'This refresh token was already used, so its session was ended for safety; sign in again.',
  },
} as const satisfies Record<string, { reason: AuthRefusalReason; message: string }>;

export type AuthRefusal = keyof typeof authRefusals;

const knownCodes = new Set<string>(Object.values(ErrorCode));
export function isKnownErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && knownCodes.has(code);
}
