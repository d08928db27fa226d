import { GraphQLError } from 'graphql';
import { authRefusals, ErrorCode, errorMessages, type AuthRefusal } from './error-codes';

/** An expected error: its message and extensions are safe to show to the client. */
export class AppError extends GraphQLError {
  constructor(code: ErrorCode, message?: string, extensions: Record<string, unknown> = {}) {
    super(message ?? errorMessages[code], { extensions: { code, ...extensions } });
  }
}

/** A token refused for an operation that needs a viewer; `extensions.reason` says why. */
export class UnauthenticatedError extends AppError {
  constructor(refusal: AuthRefusal = 'missing') {
    const { reason, message } = authRefusals[refusal];
    super(ErrorCode.UNAUTHENTICATED, message, { reason });
  }
}

export class NotFoundError extends AppError {
  constructor(what?: string) {
    super(ErrorCode.NOT_FOUND, what ? `${what} not found.` : undefined);
  }
}

/** `fields` maps an input field name to a message a form can show beside that field. */
export class BadUserInputError extends AppError {
  constructor(fields: Record<string, string>, message?: string) {
    super(ErrorCode.BAD_USER_INPUT, message ?? Object.values(fields)[0], { fields });
  }
}

/** A request the client must send differently (transport, not field input). */
export class BadRequestError extends AppError {
  constructor(message: string) {
    super(ErrorCode.BAD_REQUEST, message);
  }
}

export class ConflictError extends AppError {
  constructor(message?: string, fields?: Record<string, string>) {
    super(ErrorCode.CONFLICT, message, fields ? { fields } : {});
  }
}

export class InvalidCredentialsError extends AppError {
  constructor() {
    super(ErrorCode.INVALID_CREDENTIALS);
  }
}

/**
 * A single-use token that does not work (an email link's, or a refresh token, which also says
 * why in `extensions.reason`).
 */
export class InvalidTokenError extends AppError {
  constructor(refusal?: 'refreshInvalid' | 'refreshReused') {
    const refused = refusal ? authRefusals[refusal] : undefined;
    super(ErrorCode.INVALID_TOKEN, refused?.message, refused ? { reason: refused.reason } : {});
  }
}

export class EmailNotVerifiedError extends AppError {
  constructor() {
    super(ErrorCode.EMAIL_NOT_VERIFIED);
  }
}

/**
 * A sign-in whose password (or identity) was right but needs a second factor: the client sends
 * `challenge` to verifySecondFactor with a code of one of `methods`.
 */
export class SecondFactorRequiredError extends AppError {
  constructor(challenge: string, methods: readonly string[], expiresAt: Date) {
    super(ErrorCode.SECOND_FACTOR_REQUIRED, undefined, {
      challenge,
      methods: [...methods],
      expiresAt: expiresAt.toISOString(),
    });
  }
}

export class AccountDisabledError extends AppError {
  constructor() {
    super(ErrorCode.ACCOUNT_DISABLED);
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number, message?: string) {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    super(ErrorCode.RATE_LIMITED, message ?? `Too many requests. Try again in ${seconds} s.`, {
      retryAfterSeconds: seconds,
    });
  }
}

/** A send the month's budget cannot cover (issue 35); it renews at `resetsAt`. */
export class BudgetExceededError extends AppError {
  constructor(resetsAt: Date, message?: string) {
    super(ErrorCode.BUDGET_EXCEEDED, message, { resetsAt: resetsAt.toISOString() });
  }
}

/** Not allowed, with `extensions.reason` saying why (a model outside the user's plan). */
export class ForbiddenError extends AppError {
  constructor(message: string, reason: string) {
    super(ErrorCode.FORBIDDEN, message, { reason });
  }
}

/** Retryable: the same call succeeds later (here: on this or another instance once restarted). */
export class ServiceUnavailableError extends AppError {
  constructor(message: string, retryAfterSeconds: number) {
    super(ErrorCode.SERVICE_UNAVAILABLE, message, { retryAfterSeconds });
  }
}

export class QueryTooComplexError extends AppError {
  constructor(message?: string, extensions: Record<string, unknown> = {}) {
    super(ErrorCode.QUERY_TOO_COMPLEX, message, extensions);
  }
}

/** Closes exhaustive switches: the compiler proves it unreachable, and at run time it throws. */
export class UnreachableCaseError extends Error {
  constructor(value: never) {
    super(`Unreachable case: ${JSON.stringify(value)}`);
  }
}
