import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { defaultResource, envDetector, detectResources } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from '@opentelemetry/sdk-trace';
import type { TelemetryConfig } from '../config/telemetry-config';

/** What main.ts keeps to flush the last spans at shutdown. */
export interface Tracing {
  shutdown(): Promise<void>;
}

/** Requests that are not operations: probes and scrapes every few seconds, not worth a trace. */
const UNTRACED_PATHS = ['/health', '/ready', '/metrics'];

/**
 * The OpenTelemetry SDK: a tracer provider whose spans go to the OTLP/HTTP endpoint in batches,
 * the W3C propagators, an AsyncLocalStorage context (the active span follows async calls), and
 * the instrumentations of the incoming HTTP server, MongoDB and ioredis. Loaded only when an
 * endpoint is set (start-tracing.ts), before the app's modules, which the instrumentations patch.
 */
export function startTracingSdk(config: TelemetryConfig): Tracing {
  const contextManager = new AsyncLocalStorageContextManager();
  context.setGlobalContextManager(contextManager.enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  );
  // The exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, _TIMEOUT, _COMPRESSION.
  const exporter =
    config.protocol === 'http/json' ? new OtlpJsonExporter() : new OtlpProtobufExporter();
  const provider = new TracerProvider({
    resource: defaultResource().merge(detectResources({ detectors: [envDetector] })),
    sampler: samplerOf(config),
    spanProcessors: [new BatchSpanProcessor({ exporter, ...config.batch })],
  });
  trace.setGlobalTracerProvider(provider);
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) =>
          UNTRACED_PATHS.some((path) => request.url?.startsWith(path) ?? false),
        // A URL may carry secrets: an upload's secret and a download's signature in the path,
        // a GET operation's variables in the query. Only the first segment and the query's
        // parameter names are kept.
        requestHook: (span, request) => {
          if (!('headers' in request) || typeof request.url !== 'string') return;
          const url = new URL(request.url, 'http://palaver');
          span.setAttribute('url.path', firstSegmentOf(url.pathname));
          if (url.search) span.setAttribute('url.query', [...url.searchParams.keys()].join('&'));
        },
        // Outgoing requests are not traced: a model call (openai's fetch runs on node:http) has
        // its own `chat` span, and the instrumentation would switch the context on every chunk
        // of the model's response, once per token (bench/FINDINGS.md, issue 36).
        disableOutgoingRequestInstrumentation: true,
      }),
      new MongoDBInstrumentation({ dbStatementSerializer: maskedStatement }),
      // The command only: arguments carry reply text, prompts (the echo model) and tokens.
      new IORedisInstrumentation({ dbStatementSerializer: (command) => command }),
    ],
  });
  return {
    async shutdown() {
      unregister();
      await provider.shutdown();
    },
  };
}

/** `/attachments/<id>/<expires>/<signature>` → `/attachments/…`. */
function firstSegmentOf(path: string): string {
  const next = path.indexOf('/', 1);
  return next < 0 ? path : `${path.slice(0, next)}/…`;
}

function samplerOf({ sampler, samplerRatio }: TelemetryConfig): Sampler {
  switch (sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(samplerRatio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(samplerRatio) });
  }
}

/** The longest a database span's statement gets. */
const MAX_STATEMENT_CHARS = 1_000;

/**
 * A database command's shape with every value masked, bounded: the instrumentation's own
 * masking wrote a stored file's chunk (255 KB of bytes) as an object with one key per byte, a
 * 4 MB attribute per chunk.
 */
function maskedStatement(command: Record<string, unknown>): string {
  const masked = (value: unknown, depth: number): unknown => {
    if (value === null || typeof value !== 'object' || depth >= 4) return '?';
    if (ArrayBuffer.isView(value) || '_bsontype' in value) return '?';
    if (Array.isArray(value)) return value.slice(0, 3).map((item) => masked(item, depth + 1));
    return Object.fromEntries(
      Object.entries(value)
        .slice(0, 20)
        .map(([key, item]) => [key, masked(item, depth + 1)]),
    );
  };
  return JSON.stringify(masked(command, 0)).slice(0, MAX_STATEMENT_CHARS);
}
