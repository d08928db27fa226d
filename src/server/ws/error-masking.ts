import type { ExecutionResult, GraphQLError } from 'graphql';
import type { Logger } from '../../log/logger';
import { formatError, isUnexpectedError } from '../../graphql/format-error';
import { scrubErrors } from '../../graphql/scrub-values';

/**
 * Errors on the socket, formatted as over HTTP: Apollo's formatError does not see graphql-ws,
 * so every result and refusal sent on a socket passes here (onNext, onError and the direct
 * sends of result-senders.ts). Unexpected errors are logged with the request id.
 */
export class ErrorMasking {
  constructor(
    private readonly logger: Logger,
    private readonly exposeInternals: boolean,
  ) {}

  /**
   * A result with its errors formatted, masked and cut of the operation's variable values
   * (scrub-values.ts); undefined when it has none.
   */
  masked(
    result: ExecutionResult,
    contextValue: unknown,
    variables: unknown,
  ): ExecutionResult | undefined {
    if (!result.errors) return undefined;
    const requestId = (contextValue as { requestId?: string } | undefined)?.requestId;
    const formatted = result.errors.map((error) => this.format(error, requestId));
    return { ...result, errors: scrubErrors(formatted, variables) as never };
  }

  /** An `error` message's errors (graphql-ws's onError): a refusal, or a subscription's failure. */
  formatted(errors: readonly GraphQLError[], variables: unknown) {
    return scrubErrors(
      errors.map((error) => this.format(error)),
      variables,
    );
  }

  private format(error: GraphQLError, requestId?: string) {
    if (isUnexpectedError(error)) {
      this.logger.error(
        { err: error.originalError ?? error, requestId },
        'unexpected error on a socket',
      );
    }
    return formatError(error.toJSON(), error, {
      exposeInternals: this.exposeInternals,
      requestId,
    });
  }
}
