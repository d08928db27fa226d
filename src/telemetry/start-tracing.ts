/**
 * Starts tracing when an OTLP endpoint is configured, and does nothing else otherwise: without
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`) not one SDK module is loaded, so the
 * spans the code starts are the API's no-op ones. main.ts imports this first: the
 * instrumentations patch `http`, `mongodb` and `ioredis` only if they are loaded before them.
 */
import { loadTelemetryConfig, TelemetryConfigError } from '../config/telemetry-config';
import type { Tracing } from './tracing-sdk';

function start(): Tracing | null {
  try {
    const config = loadTelemetryConfig();
    if (!config.enabled) return null;
    // Required here, not imported above: with tracing off the SDK is never loaded.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sdk = require('./tracing-sdk') as typeof import('./tracing-sdk');
    return sdk.startTracingSdk(config);
  } catch (error) {
    if (error instanceof TelemetryConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}

/** The running SDK, to flush at shutdown; null when tracing is off. */
export const tracing: Tracing | null = start();
