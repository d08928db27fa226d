import type { Request, Response, Router } from 'express';
import express from 'express';
import type { Logger } from '../../log/logger';
import { StripeSignatureError, type StripeBilling } from '../../modules/billing/stripe-billing';

/** Stripe's events are small; anything larger is not one. */
const WEBHOOK_MAX_BYTES = 512 * 1024;

/**
 * `POST /webhooks/stripe`: the raw body (the signature covers its exact bytes, so it is never
 * parsed first) and its `Stripe-Signature`; 400 when the signature does not match, 200 once
 * applied or when it was applied before (Stripe then stops retrying). Without Stripe
 * configured, the route does not exist.
 */
export function stripeWebhookRoutes(stripe: StripeBilling | undefined, logger: Logger): Router {
  const router = express.Router();
  if (!stripe) return router;
  router.post(
    '/webhooks/stripe',
    express.raw({ type: () => true, limit: WEBHOOK_MAX_BYTES }),
    async (req: Request, res: Response) => {
      try {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const outcome = await stripe.receive(body, req.header('stripe-signature'));
        res.status(200).json({ received: true, replayed: outcome === 'replayed' });
      } catch (error) {
        if (error instanceof StripeSignatureError) {
          res.status(400).json({ error: error.message });
          return;
        }
        logger.error({ err: error }, 'applying a Stripe event failed');
        res.status(500).json({ error: 'The event could not be applied; Stripe retries it.' });
      }
    },
  );
  return router;
}
