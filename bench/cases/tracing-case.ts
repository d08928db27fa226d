import type { Bench, CaseResult } from '../lib/context';
import { OtlpSink } from '../lib/otlp-sink';
import { median, medianRun } from '../lib/stats';
import { StreamRig, type TokenRun } from './stream-cases';

/** Measured rounds per server, alternating off, on, sampled off, off (BENCH_TRACING_ROUNDS). */
const TRACING_ROUNDS = 3;

/**
 * What tracing costs on the hot path (issue 36): token-cpu's load on three builds of the same
 * subject side by side — tracing off (no OTLP endpoint: no SDK loaded), on at 100 % sampling
 * (every span exported to a local sink), and on but sampled off (the SDK loaded, no trace
 * sampled) — and tracing off again, in alternating rounds: off, on, sampled off, off. Each
 * traced round is compared with the mean of the two off rounds around it (the machine drifts
 * within a run), and the two off subjects compared with each other measure the noise: "sampled
 * off within noise" means no further from 1 than 5 % or than the off-vs-off worst round, on a
 * shared machine whose rounds of one build differ by ±15 %.
 */
export async function tracingCases(bench: Bench): Promise<CaseResult[]> {
  const streams = bench.quick ? 20 : 200;
  const tokens = bench.quick ? 50 : 500;
  const rounds = bench.quick ? 1 : Number(process.env.BENCH_TRACING_ROUNDS ?? TRACING_ROUNDS);
  const sink = await OtlpSink.start();
  const traced = (sampler: string) => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
    OTEL_TRACES_SAMPLER: sampler,
    OTEL_SERVICE_NAME: 'palaver-bench',
  });
  const options = (env: Record<string, string>) => ({ coalesceMs: 0, timed: true, env });
  const rigs: StreamRig[] = [];
  const runs: [TokenRun[], TokenRun[], TokenRun[], TokenRun[]] = [[], [], [], []];
  /** What the traced subject exported during the measured rounds. */
  const exported = { requests: 0, bytes: 0 };
  try {
    for (const env of [{}, traced('always_on'), traced('always_off'), {}])
      rigs.push(await StreamRig.start(bench, 'subject', options(env)));
    for (const rig of rigs) await rig.warm(streams);
    const before = { requests: sink.requests, bytes: sink.bytes };
    for (let round = 0; round < rounds; round += 1) {
      for (const [side, rig] of rigs.entries())
        runs[side as 0 | 1 | 2 | 3].push(await rig.measure(streams, tokens));
    }
    exported.requests = sink.requests - before.requests;
    exported.bytes = sink.bytes - before.bytes;
  } finally {
    for (const rig of rigs) await rig.stop();
    await sink.stop();
  }
  const [off, on, sampledOff, control] = runs;
  const offAround = (i: number) => (off[i]!.cpuPerToken + control[i]!.cpuPerToken) / 2;
  const ratiosOf = (side: TokenRun[]) => side.map((run, i) => run.cpuPerToken / offAround(i));
  const controlRatios = control.map((run, i) => run.cpuPerToken / off[i]!.cpuPerToken);
  const noise = Math.max(0.05, ...controlRatios.map((ratio) => Math.abs(ratio - 1)));
  const expected = streams * tokens;
  const lost = runs.flat().filter((run) => run.delivered !== expected).length;
  const errors = runs.flat().reduce((n, run) => n + run.errors, 0) + lost;
  const perRound = (side: TokenRun[]) => side.map((run) => +(run.cpuPerToken * 1e6).toFixed(1));
  const row = (
    name: string,
    side: TokenRun[],
    label: string,
    limit: number,
    details: Record<string, unknown> = {},
    target = `≤ ${limit}× tracing off`,
  ): CaseResult => {
    const ratios = ratiosOf(side);
    const ratio = median(ratios);
    return {
      case: name,
      measure: `server CPU µs per delivered token, ${label} vs tracing off (the two off subjects' mean), ${streams} × 50 tok/s, coalescing off (medians of ${rounds} alternating rounds)`,
      unit: 'µs/token',
      subject: medianRun(side, (run) => run.cpuPerToken).cpuPerToken * 1e6,
      baseline: median(off.map((_, i) => offAround(i))) * 1e6,
      ratio,
      target,
      pass: ratio <= limit && errors === 0,
      errors,
      details: {
        rounds: {
          subject: perRound(side),
          off: perRound(off),
          ratios: ratios.map((r) => +r.toFixed(3)),
        },
        ...details,
      },
    };
  };
  return [
    row('tracing-on-cpu', on, 'tracing on at 100 % sampling', 1.15, { exported }),
    row(
      'tracing-sampled-off-cpu',
      sampledOff,
      'tracing on, sampled off',
      1 + noise,
      {
        control: { rounds: perRound(control), ratios: controlRatios.map((r) => +r.toFixed(3)) },
      },
      `≤ 1 + noise (${(1 + noise).toFixed(2)}×: 5 % or off-vs-off's worst round)`,
    ),
  ];
}
