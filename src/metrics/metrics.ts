import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the gauges read when Prometheus scrapes; set by the parts that own each figure. */
export interface MetricSources {
  /** Replies this instance is writing. */
  activeStreams(): number;
  /** Open WebSocket connections. */
  sockets(): number;
  /** One round trip to the database, in seconds (rejects when it is away). */
  databasePing(): Promise<number>;
  /** One round trip to Redis, in seconds; absent without REDIS_URL. */
  redisPing?(): Promise<number>;
}

/**
 * The figures a person running a cluster watches, served at `/metrics` in Prometheus' text
 * format (prom-client). One registry per app, so several apps in one process (the tests) do
 * not share counters. Counters are cheap (an add); the gauges are computed at scrape time.
 */
export class Metrics {
  readonly registry = new Registry();
  /** Deltas appended to reply logs (rate() gives tokens/s; coalescing joins tokens). */
  readonly deltas = new Counter({
    name: 'palaver_stream_deltas_total',
    help: 'Deltas written to reply logs by this instance.',
    registers: [this.registry],
  });
  readonly deltasReplayed = new Counter({
    name: 'palaver_stream_deltas_replayed_total',
    help: 'Deltas sent from a log to a follower that subscribed or resumed late.',
    registers: [this.registry],
  });
  readonly gapFills = new Counter({
    name: 'palaver_stream_gap_fills_total',
    help: 'Reads of a reply log by a follower that missed live entries (lost pub/sub messages, silences).',
    registers: [this.registry],
  });
  readonly takeovers = new Counter({
    name: 'palaver_reply_takeovers_total',
    help: 'Replies ended by this instance in place of an owner that was gone or stopped elsewhere.',
    labelNames: ['status'],
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'palaver_rate_limit_refusals_total',
    help: 'Calls refused by a rate limit.',
    labelNames: ['limit'],
    registers: [this.registry],
  });
  /**
   * Tokens of the replies, per provider and model, as the provider reported them. Cost is not
   * modelled (no prices are configured): multiply by a provider's price in the dashboard.
   */
  readonly tokens = new Counter({
    name: 'palaver_llm_tokens_total',
    help: 'Tokens of the replies written here, as their providers reported them (type: input or output).',
    labelNames: ['provider', 'model', 'type'],
    registers: [this.registry],
  });
  readonly timeToFirstToken = new Histogram({
    name: 'palaver_reply_time_to_first_token_seconds',
    help: 'From the start of a reply to its first piece of text or reasoning.',
    labelNames: ['provider', 'model'],
    buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
    registers: [this.registry],
  });
  readonly replyDuration = new Histogram({
    name: 'palaver_reply_duration_seconds',
    help: 'From the start of a reply to its end, by the status it ended with.',
    labelNames: ['provider', 'model', 'status'],
    buckets: [0.5, 1, 2, 5, 10, 20, 40, 80, 160, 320, 600],
    registers: [this.registry],
  });
  readonly toolCalls = new Counter({
    name: 'palaver_tool_calls_total',
    help: 'Tool calls of the replies written here, by how they ended (complete, failed, denied).',
    labelNames: ['tool', 'outcome'],
    registers: [this.registry],
  });
  private sources: MetricSources | null = null;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'palaver_process_' });
    const read = (name: keyof MetricSources) => async () =>
      (await (this.sources?.[name] as (() => number | Promise<number>) | undefined)?.()) ?? 0;
    this.gauge(
      'palaver_active_streams',
      'Replies this instance is writing.',
      read('activeStreams'),
    );
    this.gauge('palaver_websocket_connections', 'Open WebSocket connections.', read('sockets'));
    this.gauge('palaver_database_ping_seconds', 'One database round trip at scrape time.', () =>
      this.ping('databasePing'),
    );
    this.gauge('palaver_redis_ping_seconds', 'One Redis round trip at scrape time.', () =>
      this.ping('redisPing'),
    );
  }

  observe(sources: MetricSources): void {
    this.sources = sources;
  }

  /** Names this instance (its cluster id), so dashboards and the load balancer's checks tell them apart. */
  identify(instanceId: string): void {
    new Gauge({
      name: 'palaver_instance_info',
      help: 'This instance; its id is the one in Redis keys (leases, reply owners).',
      labelNames: ['instance'],
      registers: [this.registry],
    }).set({ instance: instanceId }, 1);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** -1 when the server does not answer, so a dashboard tells "away" from "fast". */
  private async ping(name: 'databasePing' | 'redisPing'): Promise<number> {
    const probe = this.sources?.[name];
    if (!probe) return 0;
    return probe().catch(() => -1);
  }

  private gauge(name: string, help: string, value: () => Promise<number>): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await value());
      },
    });
  }
}

/** Seconds since `start` (from process.hrtime.bigint()). */
export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}
