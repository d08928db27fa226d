import { isSpanContextValid, trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from '../config/config';

export type { Logger };

/**
 * Paths that may carry secrets. pino replaces them before a line is written, so a secret
 * cannot reach the log even when a whole request or input object is logged by mistake.
 */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'connectionParams',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.confirmPassword',
  '*.confirmNewPassword',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  'variables.input.password',
  'variables.input.currentPassword',
  'variables.input.newPassword',
  'variables.input.confirmPassword',
  'variables.input.confirmNewPassword',
  'variables.input.token',
  'variables.token',
  'variables.refreshToken',
];

/**
 * The active span's ids on every line written inside one (OpenTelemetry's log correlation
 * names, https://opentelemetry.io/docs/specs/otel/compatibility/logging_trace_context/), so a
 * line leads to its trace. Without tracing there is never an active span: nothing is added.
 */
function traceIds(): Record<string, string> {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext || !isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

/** JSON lines in production, readable lines in development, nothing in tests. */
export function createLogger(
  config: Pick<Config, 'isProduction' | 'logLevel'>,
  destination?: pino.DestinationStream,
): Logger {
  const options = {
    level: config.logLevel,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    mixin: traceIds,
  };
  if (destination) return pino(options, destination);
  if (config.isProduction || config.logLevel === 'silent') return pino(options);
  return pino(options, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', sync: true }));
}
