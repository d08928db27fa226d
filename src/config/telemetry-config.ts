import { z } from 'zod';

/**
 * The standard OpenTelemetry variables that decide whether and how Palaver traces
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/). Read
 * apart from loadConfig because tracing starts before anything else is loaded: the
 * instrumentations must patch `http`, `mongodb` and `ioredis` before the app requires them.
 *
 * The exporter and the resource read the rest of their own `OTEL_*` variables themselves
 * (`OTEL_EXPORTER_OTLP_HEADERS`, `…_TIMEOUT`, `…_COMPRESSION`, `OTEL_SERVICE_NAME`,
 * `OTEL_RESOURCE_ATTRIBUTES`), as the specification says.
 */
const telemetryEnvSchema = z.object({
  OTEL_SDK_DISABLED: z.string().optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().trim().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().trim().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.string().trim().optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.string().trim().optional(),
  OTEL_TRACES_SAMPLER: z
    .enum([
      'always_on',
      'always_off',
      'traceidratio',
      'parentbased_always_on',
      'parentbased_always_off',
      'parentbased_traceidratio',
    ])
    .default('parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  /** The specification's default is 5000 ms; tests shorten it to see their spans at once. */
  OTEL_BSP_SCHEDULE_DELAY: z.coerce.number().int().nonnegative().default(5_000),
  OTEL_BSP_MAX_QUEUE_SIZE: z.coerce.number().int().positive().default(2_048),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: z.coerce.number().int().positive().default(512),
});

export type TraceSampler = z.infer<typeof telemetryEnvSchema>['OTEL_TRACES_SAMPLER'];

export interface TelemetryConfig {
  /** Only with an OTLP endpoint set (and OTEL_SDK_DISABLED not true) is anything started. */
  enabled: boolean;
  /** `http/protobuf` (the specification's default) or `http/json`. */
  protocol: 'http/protobuf' | 'http/json';
  sampler: TraceSampler;
  /** The ratio of the *traceidratio samplers (default 1: every trace). */
  samplerRatio: number;
  batch: { scheduledDelayMillis: number; maxQueueSize: number; maxExportBatchSize: number };
}

export class TelemetryConfigError extends Error {
  override name = 'TelemetryConfigError';
}

export function loadTelemetryConfig(env: NodeJS.ProcessEnv = process.env): TelemetryConfig {
  // An empty variable (`OTEL_TRACES_SAMPLER=` in an .env copied from .env.example) is unset.
  const set = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key.startsWith('OTEL_') && value?.trim()),
  );
  const parsed = telemetryEnvSchema.safeParse(set);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new TelemetryConfigError(`Invalid OpenTelemetry configuration: ${issues.join('; ')}`);
  }
  const e = parsed.data;
  const endpoint = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || e.OTEL_EXPORTER_OTLP_ENDPOINT;
  const protocol = e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || e.OTEL_EXPORTER_OTLP_PROTOCOL;
  if (protocol && protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new TelemetryConfigError(
      `OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported: use http/protobuf or http/json`,
    );
  }
  return {
    enabled: Boolean(endpoint) && e.OTEL_SDK_DISABLED?.toLowerCase() !== 'true',
    protocol: protocol === 'http/json' ? 'http/json' : 'http/protobuf',
    sampler: e.OTEL_TRACES_SAMPLER,
    samplerRatio: e.OTEL_TRACES_SAMPLER_ARG ?? 1,
    batch: {
      scheduledDelayMillis: e.OTEL_BSP_SCHEDULE_DELAY,
      maxQueueSize: e.OTEL_BSP_MAX_QUEUE_SIZE,
      maxExportBatchSize: e.OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    },
  };
}
