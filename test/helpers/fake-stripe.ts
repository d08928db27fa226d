import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StripeCall {
  method: string;
  path: string;
  /** The form fields the SDK sent (`line_items[0][price]` …). */
  form: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Stripe's API, the few endpoints Palaver calls, on loopback: the official SDK talks to it
 * through STRIPE_API_BASE. Customers, Checkout Sessions and portal sessions are made up, and
 * every call is recorded. Idempotency keys are honoured for customers, as Stripe does.
 */
export class FakeStripe {
  readonly calls: StripeCall[] = [];
  private readonly customersByKey = new Map<string, string>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<FakeStripe> {
    const ref: { fake?: FakeStripe } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
        const call = { method: req.method!, path: req.url!, form, headers: req.headers };
        ref.fake!.calls.push(call);
        const [status, body] = ref.fake!.answer(call);
        res.writeHead(status, { 'content-type': 'application/json', 'request-id': 'req_fake' });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ref.fake = new FakeStripe(server);
    return ref.fake;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private answer(call: StripeCall): [number, unknown] {
    const id = randomUUID().replace(/-/g, '').slice(0, 14);
    if (call.method === 'POST' && call.path === '/v1/customers') {
      const key = String(call.headers['idempotency-key'] ?? id);
      const customer = this.customersByKey.get(key) ?? `cus_${id}`;
      this.customersByKey.set(key, customer);
      return [200, { id: customer, object: 'customer', metadata: {} }];
    }
    if (call.method === 'POST' && call.path === '/v1/checkout/sessions') {
      return [
        200,
        {
          id: `cs_test_${id}`,
          object: 'checkout.session',
          url: `https://checkout.stripe.test/c/pay/cs_test_${id}`,
          client_reference_id: call.form.client_reference_id,
          customer: call.form.customer,
        },
      ];
    }
    if (call.method === 'POST' && call.path === '/v1/billing_portal/sessions') {
      return [
        200,
        {
          id: `bps_${id}`,
          object: 'billing_portal.session',
          url: `https://billing.stripe.test/p/session/${id}`,
          customer: call.form.customer,
        },
      ];
    }
    return [
      404,
      { error: { type: 'invalid_request_error', message: `No such route ${call.path}` } },
    ];
  }
}
