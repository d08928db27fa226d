import { setTimeout as sleep } from 'node:timers/promises';
import { fetchBody, once } from '../lib/http-load';
import { startSubject, type Bench, type CaseResult } from '../lib/context';
import { startReplies } from './stream-cases';
import { cpuSeconds } from '../lib/processes';
import { BENCH_PASSWORD } from '../lib/seed';
import { percentile } from '../lib/stats';
import { nowMs, StreamClient } from '../lib/ws-load';

const PROVIDERS = JSON.stringify({ query: '{ llmProviders { llm models defaultModel } }' });
const CSRF_SAFE = { 'apollo-require-preflight': 'true' };

/** Logins per second with production argon2 settings on both cores, and how a storm slows reads. */
export async function loginCase(bench: Bench): Promise<CaseResult> {
  // A storm is many people signing in: one account each per connection. (Sixteen at once on
  // one account would meet its limit of 10 attempts in flight: attempts count before argon2.)
  const users = await bench.seeder.users(16, 'login');
  const subject = await startSubject(bench, {}, { pinned: false });
  try {
    const url = `http://127.0.0.1:${subject.port}/graphql`;
    const loginBodies = users.map((user) =>
      JSON.stringify({
        query: 'mutation($input: LoginInput!) { login(input: $input) { accessToken } }',
        variables: { input: { email: user.email, password: BENCH_PASSWORD } },
      }),
    );
    const seconds = bench.quick ? 1.5 : 5;
    const isLogin = (body: string) => body.includes('"accessToken"');
    const expectProviders = await fetchBody(url, PROVIDERS);
    const storm = (duration: number) =>
      once({
        url,
        body: loginBodies[0]!,
        bodies: loginBodies,
        headers: CSRF_SAFE,
        connections: 16,
        seconds: duration,
        verifyBody: isLogin,
      });
    const probe = () =>
      once({
        url,
        body: PROVIDERS,
        headers: CSRF_SAFE,
        connections: 2,
        seconds,
        expectBody: expectProviders,
      });
    await storm(1); // warm-up

    const logins = await storm(seconds);
    const quiet = await probe();
    const [duringStorm] = await Promise.all([probe(), storm(seconds)]);
    const p99Ratio = duringStorm.p99 / Math.max(quiet.p99, 1);
    const errors = [logins, quiet, duringStorm].reduce(
      (n, r) => n + r.errors + r.non2xx + r.mismatches,
      0,
    );
    return {
      case: 'login',
      measure: 'logins/s, production argon2id, 2 cores (llmProviders p99 ms storm vs quiet)',
      unit: 'logins/s',
      subject: logins.rps,
      baseline: null,
      ratio: null,
      target: '≥ 70 logins/s; llmProviders p99 during a 16-login storm ≤ 2× without',
      pass: logins.rps >= 70 && p99Ratio <= 2,
      errors,
      details: { quietP99: quiet.p99, stormP99: duringStorm.p99, p99Ratio },
    };
  } finally {
    await subject.stop();
  }
}

/** CPU per new subscription (subscribe → done event → complete) against a cached HTTP query. */
export async function subscribeCase(bench: Bench): Promise<CaseResult> {
  const count = bench.quick ? 200 : 2_000;
  const [user] = await bench.seeder.users(1, 'subscribe');
  bench.upstream.enqueue({ chunks: ['done'] });
  const subject = await startSubject(bench);
  try {
    const [messageId] = (await startReplies(bench, subject.port, [user!])) as [string];
    await sleep(500); // the reply finishes; each subscription now yields its done event at once
    const url = `ws://127.0.0.1:${subject.port}/graphql`;

    // One authenticated socket; each iteration is a new subscription on it (subscribe, the
    // done event of the finished reply, complete), as a client opening chat after chat does.
    const client = await StreamClient.connect(url, user!.token);
    const firstEvent: number[] = [];
    const subscribeOnce = async () => {
      const started = nowMs();
      firstEvent.push((await client.subscribeOnce(messageId)) - started);
    };
    const httpUrl = `http://127.0.0.1:${subject.port}/graphql`;
    const expect = await fetchBody(httpUrl, PROVIDERS);
    const httpRun = (seconds: number) =>
      once({
        url: httpUrl,
        body: PROVIDERS,
        headers: CSRF_SAFE,
        connections: 1,
        seconds,
        expectBody: expect,
      });
    for (let i = 0; i < 50; i += 1) await subscribeOnce(); // warm the document cache
    await httpRun(1);
    firstEvent.length = 0;

    // Rounds alternate the two, and the medians are compared: this shared machine's speed
    // drifts within a run, and interleaving makes the drift hit both sides alike.
    const rounds = bench.quick ? 1 : 5;
    const perRound = Math.ceil(count / rounds);
    const subscriptionCpu: number[] = [];
    const requestCpu: number[] = [];
    let httpErrors = 0;
    for (let round = 0; round < rounds; round += 1) {
      const cpuBefore = cpuSeconds(subject.pid);
      for (let i = 0; i < perRound; i += 1) await subscribeOnce();
      subscriptionCpu.push((cpuSeconds(subject.pid) - cpuBefore) / perRound);
      const httpCpuBefore = cpuSeconds(subject.pid);
      const http = await httpRun(bench.quick ? 1 : 1.5);
      requestCpu.push((cpuSeconds(subject.pid) - httpCpuBefore) / http.requests);
      httpErrors += http.errors + http.non2xx + http.mismatches;
    }
    const errors = client.errors.length + firstEvent.filter((ms) => Number.isNaN(ms)).length;
    client.close();
    const cpuPerSubscription = percentile(subscriptionCpu, 50);
    const cpuPerRequest = percentile(requestCpu, 50);
    const ratio = cpuPerSubscription / cpuPerRequest;
    return {
      case: 'subscribe',
      measure:
        'server CPU µs per new subscription (subscribe → first event → complete, one socket) vs per cached HTTP llmProviders',
      unit: 'µs',
      subject: cpuPerSubscription * 1e6,
      baseline: cpuPerRequest * 1e6,
      ratio,
      target: '≤ 2× a cached HTTP llmProviders',
      pass: ratio <= 2,
      errors: errors + httpErrors,
      details: {
        subscribeToFirstEventMsP50: percentile(firstEvent, 50),
        subscriptions: perRound * rounds,
        rounds: { subscriptionCpu, requestCpu },
      },
    };
  } finally {
    await subject.stop();
  }
}
