import {
  SEND_FOR_BUDGET,
  BUDGET_ENV,
  FULL_REPLY,
  PLAN_TOKENS,
  RESERVATION_TOKENS,
  budgetOf,
  settled,
  trySend,
} from './helpers/budgets';
import { registerUser } from './helpers/accounts';
import { errorCode } from './helpers/http-client';
import { useTestApp } from './helpers/test-app';
import { parse } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { setTimeout as sleep } from 'node:timers/promises';

const BUDGET_EVENTS = parse(
  'subscription { budgetEvents { percent budget { limitTokens used { totalTokens } } } }',
) as TypedDocumentNode<{ budgetEvents: { percent: number; budget: any } }, Record<string, never>>;

const SET_SELF =
  'mutation B($input: SelfBudgetInput!) { setSelfBudget(input: $input) { limitTokens plan } }';
const TRIALS = 3;

describe('budgets on one instance', () => {
  const app = useTestApp({ env: BUDGET_ENV });

  it('should never let 40 concurrent sends spend more than the budget plus one reservation', async () => {
    app.openai.defaultReply = FULL_REPLY;
    for (let trial = 0; trial < TRIALS; trial += 1) {
      const user = await registerUser(app);
      const token = user.auth.accessToken;
      const userId = user.auth.user.id;
      let accepted = 0;
      // Bursts until the budget refuses every send of one.
      for (let burst = 0; burst < 4; burst += 1) {
        const codes = await Promise.all(
          Array.from({ length: 40 }, (_, i) => trySend(app, token, `b${burst}-${i}`)),
        );
        const ok = codes.filter((code) => code === 'OK').length;
        expect(
          codes.filter((code) => !['OK', 'BUDGET_EXCEEDED', 'RATE_LIMITED'].includes(code)),
        ).toEqual([]);
        // 510 tokens hold 3 reservations of 167 at once, never 4.
        expect(ok).toBeLessThanOrEqual(3);
        if (burst === 0) expect(codes).toContain('BUDGET_EXCEEDED');
        accepted += ok;
        // Each reply named its new chat too: a call that counts.
        await settled(app, userId, accepted * 2);
        const { used } = await budgetOf(app, token);
        expect(used.totalTokens).toBeLessThanOrEqual(PLAN_TOKENS + RESERVATION_TOKENS);
        if (ok === 0) break;
      }
      expect(accepted).toBeGreaterThanOrEqual(3);
      expect(await app.app.models.Message.countDocuments({ userId })).toBe(accepted * 2);
    }
  }, 120_000);

  it('should refuse with BUDGET_EXCEEDED and when it renews, saving nothing', async () => {
    app.openai.defaultReply = FULL_REPLY;
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    await Promise.all([0, 1, 2].map((i) => trySend(app, token, `fill ${i}`)));
    const refused = await app
      .http()
      .raw(SEND_FOR_BUDGET, { input: { prompt: 'one more' } }, { token });
    expect(errorCode(refused)).toBe('BUDGET_EXCEEDED');
    const now = new Date();
    expect(refused.errors![0]!.extensions!.resetsAt).toBe(
      new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString(),
    );
    expect(
      await app.app.models.Message.countDocuments({
        userId: user.auth.user.id,
        content: 'one more',
      }),
    ).toBe(0);
  });

  it('should free the rest of a reservation when the reply uses less', async () => {
    // 10 tokens of 167 reserved: six replies one after another fit in 510, three at once would.
    app.openai.defaultReply = {
      chunks: ['small'],
      usage: { prompt_tokens: 5, completion_tokens: 5 },
    };
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    for (let i = 0; i < 6; i += 1) {
      expect(await trySend(app, token, `small ${i}`)).toBe('OK');
      await settled(app, user.auth.user.id, (i + 1) * 2);
    }
    const { used } = await budgetOf(app, token);
    // Six replies of 10 and six titles of 8.
    expect(used.totalTokens).toBe(6 * 10 + 6 * 8);
    expect(used.replies).toBe(12);
  });

  it('should count a reply stopped before the provider reported its usage (never free)', async () => {
    // Usage comes in a stream's last chunk: a stopped reply never gets it.
    app.openai.defaultReply = { chunks: ['x'.repeat(60), 'y'.repeat(60), 'z'], delayMs: 300 };
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const sent = await app
      .http()
      .raw<any>(SEND_FOR_BUDGET, { input: { prompt: 'p'.repeat(9) } }, { token });
    const messageId = sent.data.sendMessage.assistantMessage.id;
    await sleep(450);
    await app
      .http()
      .raw(
        'mutation S($id: ID!) { stopGeneration(messageId: $id) { status } }',
        { id: messageId },
        { token },
      );
    await settled(app, user.auth.user.id, 2);
    const { used } = await budgetOf(app, token);
    // The reply's own count (beside its title's): the prompt it was sent and the text it wrote.
    const reply = await app.app.models.UsageRecord.findById(messageId).lean();
    expect(reply?.completionTokens).toBeGreaterThanOrEqual(20);
    expect(reply?.promptTokens).toBeGreaterThan(0);
    expect(used.totalTokens).toBeGreaterThan(reply!.totalTokens);
  });

  it("should reserve a prompt's attachments and its chat's history, not its own words alone", async () => {
    app.openai.defaultReply = FULL_REPLY;
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    // 3,000 characters of document: about 1,000 tokens, beyond the plan's 510.
    const bytes = Buffer.from('d'.repeat(2_999) + '\n');
    const ticket = await app
      .http()
      .raw<any>(
        `mutation { t: createUpload(input: { filename: "d.txt", mediaType: "text/plain", size: ${bytes.length} }) { attachmentId uploadUrl } }`,
        undefined,
        { token },
      );
    const put = await fetch(ticket.data.t.uploadUrl, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}` },
      body: new Uint8Array(bytes),
    });
    expect(put.status).toBe(201);
    const refused = await app
      .http()
      .raw(
        SEND_FOR_BUDGET,
        { input: { prompt: 'read', attachmentIds: [ticket.data.t.attachmentId] } },
        { token },
      );
    expect(errorCode(refused)).toBe('BUDGET_EXCEEDED');
    // A chat with history: the model may be sent up to the history budget with a short prompt.
    const first = await app
      .http()
      .raw<any>('mutation { sendMessage(input: { prompt: "hi" }) { chat { id } } }', undefined, {
        token,
      });
    await settled(app, user.auth.user.id, 2);
    const followUp = await app
      .http()
      .raw(
        SEND_FOR_BUDGET,
        { input: { prompt: 'and?', chatId: first.data.sendMessage.chat.id } },
        { token },
      );
    expect(errorCode(followUp)).toBe('BUDGET_EXCEEDED');
  });

  it("should apply the user's own cap below the plan's, and refuse one above it", async () => {
    app.openai.defaultReply = FULL_REPLY;
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const above = await app
      .http()
      .raw(SET_SELF, { input: { monthlyTokens: PLAN_TOKENS + 1 } }, { token });
    expect(errorCode(above)).toBe('BAD_USER_INPUT');
    expect(above.errors![0]!.extensions!.fields).toEqual({
      monthlyTokens: 'Your plan (Starter) allows at most 510 tokens a month.',
    });
    const set = await app.http().raw(SET_SELF, { input: { monthlyTokens: 200 } }, { token });
    expect(set.errors).toBeUndefined();
    expect((set.data as any).setSelfBudget).toEqual({ limitTokens: 200, plan: 'starter' });
    const codes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => trySend(app, token, `cap ${i}`)),
    );
    // 200 holds one reservation of 167, where the plan alone would take three.
    expect(codes.filter((code) => code === 'OK')).toHaveLength(1);
    expect((await budgetOf(app, token)).limitTokens).toBe(200);
    // Lifting the cap gives the plan's limit back.
    await app.http().raw(SET_SELF, { input: { monthlyTokens: null } }, { token });
    expect((await budgetOf(app, token)).limitTokens).toBe(PLAN_TOKENS);
  });

  it('should refuse a model outside the plan with FORBIDDEN and a reason, before saving', async () => {
    const user = await registerUser(app);
    const result = await app
      .http()
      .raw(
        SEND_FOR_BUDGET,
        { input: { prompt: 'mini', config: { llm: 'OPEN_AI', chatModel: 'gpt-test-mini' } } },
        { token: user.auth.accessToken },
      );
    expect(errorCode(result)).toBe('FORBIDDEN');
    expect(result.errors![0]!.extensions!.reason).toBe('MODEL_NOT_IN_PLAN');
    expect(await app.app.models.Message.countDocuments({ userId: user.auth.user.id })).toBe(0);
  });

  it('should list the plans and show the budget of the default plan', async () => {
    const user = await registerUser(app);
    const plans = await app.http().raw('query { plans { id name monthlyTokens models } }', {});
    expect((plans.data as any).plans).toEqual([
      { id: 'starter', name: 'Starter', monthlyTokens: 510, models: ['gpt-test'] },
      { id: 'pro', name: 'Pro', monthlyTokens: 1_000_000, models: null },
    ]);
    const budget = await budgetOf(app, user.auth.accessToken);
    expect(budget).toMatchObject({
      plan: 'starter',
      limitTokens: 510,
      period: new Date().toISOString().slice(0, 7),
    });
    expect(budget.used.totalTokens).toBe(0);
  });

  it('should tell the user once at 80 % and once at 100 % of the budget, on budgetEvents', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const userId = user.auth.user.id;
    const socket = app.socket(token);
    try {
      const events = socket.subscribe(BUDGET_EVENTS);
      await sleep(300);
      // 300 of 510 (59 %) and its title's 8: no mark crossed.
      app.openai.enqueue({ chunks: ['x'], usage: { prompt_tokens: 200, completion_tokens: 100 } });
      expect(await trySend(app, token, 'first')).toBe('OK');
      await settled(app, userId, 2);
      // 120 more: 428 of 510 (84 %), past 80 %.
      app.openai.enqueue({ chunks: ['y'], usage: { prompt_tokens: 60, completion_tokens: 60 } });
      expect(await trySend(app, token, 'second')).toBe('OK');
      await settled(app, userId, 4);
      const [first] = await events.waitForEvents(1);
      expect(first!.data!.budgetEvents).toEqual({
        percent: 80,
        budget: { limitTokens: 510, used: { totalTokens: expect.any(Number) } },
      });
      // A reply that ends far beyond its reservation (its usage is what the provider says).
      const other = await registerUser(app);
      const otherSocket = app.socket(other.auth.accessToken);
      try {
        const otherEvents = otherSocket.subscribe(BUDGET_EVENTS);
        await sleep(300);
        app.openai.enqueue({
          chunks: ['z'],
          usage: { prompt_tokens: 500, completion_tokens: 100 },
        });
        expect(await trySend(app, other.auth.accessToken, 'big')).toBe('OK');
        await settled(app, other.auth.user.id, 2);
        const got = await otherEvents.waitForEvents(2);
        expect(got.map((event) => event.data!.budgetEvents.percent).sort()).toEqual([100, 80]);
      } finally {
        await otherSocket.dispose();
      }
      await sleep(200);
      expect(events.events).toHaveLength(1);
    } finally {
      await socket.dispose();
    }
  });
});
