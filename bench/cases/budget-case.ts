import { setTimeout as sleep } from 'node:timers/promises';
import { graphql, SEND, startSubject, type Bench, type CaseResult } from '../lib/context';
import { cpuSeconds } from '../lib/processes';
import { percentile } from '../lib/stats';

/** A plan with limits (so every send reserves and settles) and a price for the bench's model. */
const BUDGET_ON = {
  PLANS: JSON.stringify([{ id: 'bench', name: 'Bench', monthlyTokens: 1_000_000_000 }]),
  MODEL_PRICES: JSON.stringify({ 'gpt-bench': { input: 1, output: 2 } }),
};

/**
 * What a budget check adds to a send (issue 35): server CPU per send — the send, its short
 * reply and its title — with a limited plan (reserve before saving, settle at the end, the
 * ledger's writes) against the same build with no limits (no reservation; usage still counted),
 * in alternating rounds. Run it once more with BENCH_SUBJECT_MAIN pointing at the build before
 * issue 35 for that build's figure (it ignores the plan).
 */
export async function budgetCase(bench: Bench): Promise<CaseResult> {
  const rounds = bench.quick ? 1 : 5;
  // 20 prompts a minute per user (the limit): each user sends a few per round.
  const usersPerRound = bench.quick ? 10 : 20;
  const sendsPerUser = 4;
  bench.upstream.defaultReply = {
    chunks: ['a', ' short', ' reply'],
    usage: { prompt_tokens: 20, completion_tokens: 3 },
  };
  const run = async (env: Record<string, string>, label: string, round: number) => {
    const users = await bench.seeder.users(usersPerRound, `budget-${label}-${round}`);
    const subject = await startSubject(bench, env);
    try {
      // Warm-up: the first sends compile the documents and open the connections.
      for (const user of users.slice(0, 2))
        await graphql(subject.port, user.token, SEND, { input: { prompt: 'warm' } });
      await sleep(300);
      const before = cpuSeconds(subject.pid);
      let sends = 0;
      await Promise.all(
        users.map(async (user) => {
          for (let i = 0; i < sendsPerUser; i += 1) {
            await graphql(subject.port, user.token, SEND, { input: { prompt: `budget ${i}` } });
            sends += 1;
            await sleep(20); // the reply ends before the next (at most 3 stream at once)
          }
        }),
      );
      await sleep(500); // replies, titles and their counts end
      return (cpuSeconds(subject.pid) - before) / sends;
    } finally {
      await subject.stop();
    }
  };
  const on: number[] = [];
  const off: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    on.push(await run(BUDGET_ON, 'on', round));
    off.push(await run({}, 'off', round));
  }
  const subject = percentile(on, 50);
  const baseline = percentile(off, 50);
  const ratio = subject / baseline;
  return {
    case: 'budget-send-cpu',
    measure: `server CPU µs per send (its reply and title included), a limited plan vs no limits, ${usersPerRound} users × ${sendsPerUser} sends (medians of ${rounds} alternating rounds)`,
    unit: 'µs',
    subject: subject * 1e6,
    baseline: baseline * 1e6,
    ratio,
    target: '≤ 1.15× no limits',
    pass: ratio <= 1.15,
    errors: 0,
    details: {
      onPerRound: on.map((cpu) => +(cpu * 1e6).toFixed(0)),
      offPerRound: off.map((cpu) => +(cpu * 1e6).toFixed(0)),
      subjectMain: process.env.BENCH_SUBJECT_MAIN ?? 'dist/main.js',
    },
  };
}
