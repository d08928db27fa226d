import { setTimeout as sleep } from 'node:timers/promises';
import { registerUser } from './helpers/accounts';
import { errorCode } from './helpers/http-client';
import { useTestApp, type TestApp } from './helpers/test-app';
import { MessageRole, MessageStatus } from '../src/modules/chat/chat-enums';

const SEND =
  'mutation S($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }';
const USAGE = `query U($from: DateTimeISO!, $to: DateTimeISO!, $groupBy: UsageGrouping) {
  usage(from: $from, to: $to, groupBy: $groupBy) {
    day provider model
    usage { promptTokens completionTokens reasoningTokens totalTokens costUsd replies }
  }
}`;

/** USD per million tokens; gpt-test-mini is left unpriced (its calls cost 0, tokens still count). */
const PRICES = { 'gpt-test': { input: 2.5, output: 10 } };
const MODELS = ['gpt-test', 'gpt-test-mini'] as const;
/** The fake's title completions report this usage (test/helpers/fake-openai.ts). */
const TITLE_USAGE = { prompt: 5, completion: 3 };

interface Totals {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  costUsd: number;
  replies: number;
}

function costOf(model: string, prompt: number, completion: number): number {
  const price = PRICES[model as keyof typeof PRICES];
  return price ? (prompt * price.input + completion * price.output) / 1e6 : 0;
}

function add(
  into: Map<string, Totals>,
  key: string,
  prompt: number,
  completion: number,
  cost: number,
) {
  const sum = into.get(key) ?? {
    promptTokens: 0,
    completionTokens: 0,
    totalTokens: 0,
    costUsd: 0,
    replies: 0,
  };
  sum.promptTokens += prompt;
  sum.completionTokens += completion;
  sum.totalTokens += prompt + completion;
  sum.costUsd += cost;
  sum.replies += 1;
  into.set(key, sum);
}

/** Sends, waiting out the cap of 3 replies at once. */
async function send(app: TestApp, token: string, prompt: string, model: string): Promise<void> {
  for (;;) {
    const result = await app
      .http()
      .raw(SEND, { input: { prompt, config: { llm: 'OPEN_AI', chatModel: model } } }, { token });
    if (!result.errors) return;
    if (errorCode(result) !== 'RATE_LIMITED') throw new Error(JSON.stringify(result.errors));
    await sleep(5);
  }
}

describe('usage', () => {
  const app = useTestApp({ env: { MODEL_PRICES: JSON.stringify(PRICES) } });

  it('should total, per day and per model, exactly the usage of 1,000 replies and their titles', async () => {
    const users = await Promise.all(Array.from({ length: 10 }, () => registerUser(app)));
    // Each reply reports its own usage: a different count per reply.
    let n = 0;
    const replies = Array.from({ length: 1000 }, () => {
      n += 1;
      return {
        chunks: ['ok'],
        usage: { prompt_tokens: 10 + (n % 17), completion_tokens: 1 + (n % 29) },
      };
    });
    app.openai.enqueue(...replies);
    await Promise.all(
      users.map(async (user, u) => {
        for (let i = 0; i < 100; i += 1) {
          await send(app, user.auth.accessToken, `usage ${u} ${i}`, MODELS[i % 2]!);
        }
      }),
    );
    const userIds = users.map((user) => user.auth.user.id);
    // Every reply ended, and its count (after the end) landed.
    const deadline = Date.now() + 60_000;
    const { Message, UsageRecord } = app.app.models;
    while (
      (await Message.countDocuments({ status: MessageStatus.STREAMING })) > 0 ||
      (await UsageRecord.countDocuments({})) < 2000
    ) {
      if (Date.now() > deadline) throw new Error('replies and titles did not all settle in time');
      await sleep(100);
    }
    await sleep(200);

    const from = new Date(Date.now() - 86_400_000);
    const to = new Date(Date.now() + 86_400_000);
    for (const [index, user] of users.entries()) {
      const replied = await Message.find({
        userId: userIds[index],
        role: MessageRole.ASSISTANT,
      }).lean();
      expect(replied).toHaveLength(100);
      const perModel = new Map<string, Totals>();
      const all = new Map<string, Totals>();
      for (const reply of replied) {
        const model = reply.config!.chatModel;
        const { promptTokens, completionTokens } = reply.usage!;
        const cost = costOf(model, promptTokens, completionTokens);
        add(perModel, `OPEN_AI:${model}`, promptTokens, completionTokens, cost);
        add(all, 'day', promptTokens, completionTokens, cost);
        // Each reply began a chat, which the model named: a call that counts too.
        const title = costOf(model, TITLE_USAGE.prompt, TITLE_USAGE.completion);
        add(perModel, `OPEN_AI:${model}`, TITLE_USAGE.prompt, TITLE_USAGE.completion, title);
        add(all, 'day', TITLE_USAGE.prompt, TITLE_USAGE.completion, title);
      }
      const token = user.auth.accessToken;
      const byDay = await app.http().raw(USAGE, { from, to, groupBy: 'DAY' }, { token });
      expect(byDay.errors).toBeUndefined();
      const days = (byDay.data as any).usage;
      expect(days).toHaveLength(1);
      expect(days[0].day).toBe(`${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`);
      const expected = all.get('day')!;
      expect(days[0].usage).toEqual({
        ...expected,
        costUsd: expect.closeTo(expected.costUsd, 9),
        reasoningTokens: 0,
      });

      const byModel = await app.http().raw(USAGE, { from, to, groupBy: 'MODEL' }, { token });
      const models = (byModel.data as any).usage as Array<any>;
      expect(models.map((bucket) => `${bucket.provider}:${bucket.model}`).sort()).toEqual(
        [...perModel.keys()].sort(),
      );
      for (const bucket of models) {
        const want = perModel.get(`${bucket.provider}:${bucket.model}`)!;
        expect(bucket.day).toBeNull();
        expect(bucket.usage).toEqual({
          ...want,
          costUsd: expect.closeTo(want.costUsd, 9),
          reasoningTokens: 0,
        });
      }
      expect(models.find((bucket) => bucket.model === 'gpt-test-mini').usage.costUsd).toBe(0);
    }
  }, 240_000);

  it("should show only the caller's own usage, and nothing outside the range", async () => {
    const quiet = await registerUser(app);
    const token = quiet.auth.accessToken;
    const now = Date.now();
    const mine = await app
      .http()
      .raw(USAGE, { from: new Date(now - 86_400_000), to: new Date(now + 86_400_000) }, { token });
    expect(mine.errors).toBeUndefined();
    expect((mine.data as any).usage).toEqual([]);
    const before = await app
      .http()
      .raw(
        USAGE,
        { from: new Date(now - 10 * 86_400_000), to: new Date(now - 5 * 86_400_000) },
        { token },
      );
    expect((before.data as any).usage).toEqual([]);
  });

  it('should refuse a range that ends before it starts, or spans more than 366 days', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const now = Date.now();
    const backwards = await app
      .http()
      .raw(USAGE, { from: new Date(now), to: new Date(now - 1) }, { token });
    expect(errorCode(backwards)).toBe('BAD_USER_INPUT');
    const long = await app
      .http()
      .raw(USAGE, { from: new Date(now - 400 * 86_400_000), to: new Date(now) }, { token });
    expect(errorCode(long)).toBe('BAD_USER_INPUT');
  });
});
