import Stripe from 'stripe';
import { registerUser } from './helpers/accounts';
import { errorCode } from './helpers/http-client';
import { FakeStripe } from './helpers/fake-stripe';
import { TestApp } from './helpers/test-app';
import { BUDGET_QUERY } from './helpers/budgets';

const WEBHOOK_SECRET = 'whsec_test_secret';
const PLANS = [
  { id: 'free', name: 'Free', monthlyTokens: 1000 },
  { id: 'pro', name: 'Pro', monthlyTokens: 1_000_000, stripePriceId: 'price_pro' },
];
const sdk = new Stripe('sk_test_fake');

/** An event as Stripe sends it, with a signature made by the SDK's own test helper. */
function signed(event: Record<string, unknown>, secret = WEBHOOK_SECRET) {
  const payload = JSON.stringify({ object: 'event', api_version: '2025-01-01', ...event });
  return { payload, signature: sdk.webhooks.generateTestHeaderString({ payload, secret }) };
}

let eventCount = 0;
function eventOf(type: string, object: Record<string, unknown>, created: number) {
  eventCount += 1;
  return { id: `evt_test_${eventCount}_${Date.now()}`, type, created, data: { object } };
}

describe('Stripe subscriptions', () => {
  let stripe: FakeStripe;
  let app: TestApp;

  beforeAll(async () => {
    stripe = await FakeStripe.start();
    app = await TestApp.start({
      env: {
        PLANS: JSON.stringify(PLANS),
        DEFAULT_PLAN: 'free',
        STRIPE_SECRET_KEY: 'sk_test_fake',
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_API_BASE: stripe.origin,
      },
    });
  });
  afterAll(async () => {
    await app?.stop();
    await stripe?.stop();
  });

  async function post(body: { payload: string; signature: string }) {
    const response = await fetch(`${app.baseUrl}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': body.signature },
      body: body.payload,
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }

  async function planOf(token: string): Promise<string> {
    const result = await app.http().raw(BUDGET_QUERY, {}, { token });
    return (result.data as any).budget.plan;
  }

  it('should start a Checkout Session for the plan price, carrying the user and one customer', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const started = await app.http().raw('mutation { startCheckout(plan: "pro") }', {}, { token });
    expect(started.errors).toBeUndefined();
    expect((started.data as any).startCheckout).toMatch(/^https:\/\/checkout\.stripe\.test\//);
    const session = stripe.calls.filter((call) => call.path === '/v1/checkout/sessions').at(-1)!;
    expect(session.form).toMatchObject({
      mode: 'subscription',
      client_reference_id: user.auth.user.id,
      'line_items[0][price]': 'price_pro',
    });
    expect(session.form.customer).toMatch(/^cus_/);
    // A second checkout keeps the customer kept on the user.
    await app.http().raw('mutation { startCheckout(plan: "pro") }', {}, { token });
    const again = stripe.calls.filter((call) => call.path === '/v1/checkout/sessions').at(-1)!;
    expect(again.form.customer).toBe(session.form.customer);
    const portal = await app.http().raw('mutation { openBillingPortal }', {}, { token });
    expect((portal.data as any).openBillingPortal).toMatch(/^https:\/\/billing\.stripe\.test\//);
    expect(stripe.calls.at(-1)!.form.customer).toBe(session.form.customer);
  });

  it('should refuse a checkout for a plan without a price, and a portal before any checkout', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const free = await app.http().raw('mutation { startCheckout(plan: "free") }', {}, { token });
    expect(errorCode(free)).toBe('BAD_USER_INPUT');
    const portal = await app.http().raw('mutation { openBillingPortal }', {}, { token });
    expect(errorCode(portal)).toBe('BAD_USER_INPUT');
  });

  it('should apply a signed checkout.session.completed, and refuse a bad signature with 400', async () => {
    const user = await registerUser(app);
    const userId = user.auth.user.id;
    const event = eventOf(
      'checkout.session.completed',
      {
        object: 'checkout.session',
        client_reference_id: userId,
        customer: `cus_${userId}`,
        metadata: { userId, plan: 'pro' },
      },
      Math.floor(Date.now() / 1000),
    );
    const forged = signed(event, 'whsec_someone_else');
    expect((await post(forged)).status).toBe(400);
    expect(await planOf(user.auth.accessToken)).toBe('free');
    const tampered = signed(event);
    expect(
      (await post({ ...tampered, payload: tampered.payload.replace('pro', 'free') })).status,
    ).toBe(400);

    expect(await post(signed(event))).toEqual({
      status: 200,
      json: { received: true, replayed: false },
    });
    expect(await planOf(user.auth.accessToken)).toBe('pro');
  });

  it('should apply a replayed event once', async () => {
    const user = await registerUser(app);
    const userId = user.auth.user.id;
    const customer = `cus_r_${userId}`;
    const now = Math.floor(Date.now() / 1000);
    const completed = eventOf(
      'checkout.session.completed',
      {
        object: 'checkout.session',
        client_reference_id: userId,
        customer,
        metadata: { plan: 'pro' },
      },
      now - 10,
    );
    expect((await post(signed(completed))).status).toBe(200);
    const failed = eventOf(
      'invoice.payment_failed',
      { object: 'invoice', customer },
      now - 8 * 86_400,
    );
    const first = await post(signed(failed));
    expect(first.json.replayed).toBe(false);
    const account = await app.app.models.BillingAccount.findById(userId).lean();
    // The same event again (Stripe retries, or an attacker replays it) changes nothing.
    await app.app.models.BillingAccount.updateOne({ _id: userId }, { $set: { graceUntil: null } });
    const replays = await Promise.all([1, 2, 3].map(() => post(signed(failed))));
    expect(replays.map((replay) => replay.json.replayed)).toEqual([true, true, true]);
    expect((await app.app.models.BillingAccount.findById(userId).lean())!.graceUntil).toBeNull();
    expect(account!.graceUntil).toEqual(new Date((now - 8 * 86_400) * 1000 + 7 * 86_400_000));
  });

  it('should keep the newest plan when events arrive out of order', async () => {
    const user = await registerUser(app);
    const userId = user.auth.user.id;
    const customer = `cus_o_${userId}`;
    const now = Math.floor(Date.now() / 1000);
    const subscribed = eventOf(
      'customer.subscription.updated',
      {
        object: 'subscription',
        customer,
        status: 'active',
        metadata: { userId },
        items: { data: [{ price: { id: 'price_pro' } }] },
      },
      now - 100,
    );
    const cancelled = eventOf(
      'customer.subscription.deleted',
      {
        object: 'subscription',
        customer,
        status: 'canceled',
        metadata: { userId },
        items: { data: [] },
      },
      now - 50,
    );
    // The cancellation (newer) arrives first; the older subscription event must not undo it.
    expect((await post(signed(cancelled))).status).toBe(200);
    expect((await post(signed(subscribed))).status).toBe(200);
    expect(await planOf(user.auth.accessToken)).toBe('free');
    const resubscribed = eventOf('customer.subscription.updated', subscribed.data.object, now);
    expect((await post(signed(resubscribed))).status).toBe(200);
    expect(await planOf(user.auth.accessToken)).toBe('pro');
  });

  it('should keep the plan through the grace period after a failed payment, then fall back', async () => {
    const now = Math.floor(Date.now() / 1000);
    const fresh = await registerUser(app);
    const lapsed = await registerUser(app);
    for (const [user, failedAt] of [
      [fresh, now - 60],
      [lapsed, now - 8 * 86_400],
    ] as const) {
      const userId = user.auth.user.id;
      const customer = `cus_g_${userId}`;
      const completed = eventOf(
        'checkout.session.completed',
        {
          object: 'checkout.session',
          client_reference_id: userId,
          customer,
          metadata: { plan: 'pro' },
        },
        failedAt - 10,
      );
      await post(signed(completed));
      await post(
        signed(eventOf('invoice.payment_failed', { object: 'invoice', customer }, failedAt)),
      );
    }
    expect(await planOf(fresh.auth.accessToken)).toBe('pro');
    expect(await planOf(lapsed.auth.accessToken)).toBe('free');
    // A payment that then succeeds restores the plan.
    await post(
      signed(
        eventOf(
          'invoice.paid',
          { object: 'invoice', customer: `cus_g_${lapsed.auth.user.id}` },
          now,
        ),
      ),
    );
    expect(await planOf(lapsed.auth.accessToken)).toBe('pro');
  });
});
