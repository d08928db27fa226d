import Stripe from 'stripe';
import { mongo } from 'mongoose';
import type { BillingConfig, PlanConfig } from '../../config/billing-config';
import { updateByIdIf } from '../../db/by-id';
import { BadUserInputError } from '../../errors/errors';
import type { Logger } from '../../log/logger';
import type { BillingAccountModel } from './billing-account.model';
import type { StripeCustomerModel, StripeEventModel } from './stripe-records.model';

/**
 * Stripe subscriptions (issue 35). What it protects against: a forged webhook (every event's
 * `Stripe-Signature` is checked by the official SDK against STRIPE_WEBHOOK_SECRET), a replayed
 * one (each event id is applied once), and events out of order (Stripe does not promise order:
 * a plan change older than the last one applied is ignored, by the event's `created` time).
 */

/** After a failed payment the plan holds this long, then DEFAULT_PLAN applies. */
export const PAYMENT_GRACE_MS = 7 * 86_400_000;
const DUPLICATE_KEY = 11000;

export interface StripeSettings {
  secretKey: string;
  webhookSecret?: string;
  /** STRIPE_API_BASE: an origin (a local fake in tests). */
  apiBase?: string;
  /** Where Checkout and the portal send the user back. */
  appUrl: string;
}

/** A webhook that is not Stripe's (or not for this secret): answered 400. */
export class StripeSignatureError extends Error {
  override name = 'StripeSignatureError';
}

export class StripeBilling {
  private readonly stripe: Stripe;

  constructor(
    private readonly models: {
      BillingAccount: BillingAccountModel;
      StripeEvent: StripeEventModel;
      StripeCustomer: StripeCustomerModel;
    },
    private readonly billing: BillingConfig,
    private readonly settings: StripeSettings,
    private readonly logger: Logger,
  ) {
    const base = settings.apiBase ? new URL(settings.apiBase) : undefined;
    this.stripe = new Stripe(settings.secretKey, {
      maxNetworkRetries: 2,
      telemetry: false,
      ...(base
        ? {
            host: base.hostname,
            port: base.port || (base.protocol === 'https:' ? 443 : 80),
            protocol: base.protocol === 'https:' ? 'https' : 'http',
          }
        : {}),
    });
  }

  /** A Checkout Session for the plan's price; the user's id rides along as client_reference_id. */
  async startCheckout(userId: string, planId: string): Promise<string> {
    const plan = this.billing.plans.find((candidate) => candidate.id === planId);
    if (!plan?.stripePriceId) {
      throw new BadUserInputError({
        plan: plan ? `${plan.name} cannot be bought.` : `There is no plan ${planId}.`,
      });
    }
    const customer = await this.customerOf(userId);
    const session = await this.stripe.checkout.sessions.create({
      mode: 'subscription',
      customer,
      client_reference_id: userId,
      line_items: [{ price: plan.stripePriceId, quantity: 1 }],
      metadata: { userId, plan: plan.id },
      subscription_data: { metadata: { userId, plan: plan.id } },
      success_url: `${this.settings.appUrl}/billing?checkout=success`,
      cancel_url: `${this.settings.appUrl}/billing?checkout=cancel`,
    });
    return session.url!;
  }

  /** The customer portal, for a user who has a Stripe customer. */
  async openBillingPortal(userId: string): Promise<string> {
    const account = await this.models.BillingAccount.findById(userId).lean();
    if (!account?.stripeCustomerId) {
      throw new BadUserInputError({}, 'There is nothing to manage yet: start a checkout first.');
    }
    const session = await this.stripe.billingPortal.sessions.create({
      customer: account.stripeCustomerId,
      return_url: `${this.settings.appUrl}/billing`,
    });
    return session.url;
  }

  /**
   * Checks a webhook's signature, then applies its event once. 'replayed' when it was applied
   * before. An event that fails to apply is forgotten, so Stripe's retry applies it.
   */
  async receive(rawBody: Buffer, signature: string | undefined): Promise<'applied' | 'replayed'> {
    let event: Stripe.Event;
    try {
      event = this.stripe.webhooks.constructEvent(
        rawBody,
        signature ?? '',
        this.settings.webhookSecret ?? '',
      );
    } catch {
      throw new StripeSignatureError('The Stripe-Signature does not match this body.');
    }
    try {
      await this.models.StripeEvent.create({ _id: event.id, type: event.type });
    } catch (error) {
      if (error instanceof mongo.MongoServerError && error.code === DUPLICATE_KEY) {
        return 'replayed';
      }
      throw error;
    }
    try {
      await this.apply(event);
    } catch (error) {
      await this.models.StripeEvent.deleteOne({ _id: event.id });
      throw error;
    }
    return 'applied';
  }

  private async apply(event: Stripe.Event): Promise<void> {
    switch (event.type) {
      case 'checkout.session.completed': {
        const session = event.data.object;
        const userId = session.client_reference_id;
        const plan = this.planById(session.metadata?.plan);
        if (!userId || !plan) return;
        const customer = idOf(session.customer);
        if (customer) await this.remember(userId, customer);
        await this.setPlan(userId, plan.id, event.created);
        return;
      }
      case 'customer.subscription.created':
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted': {
        const subscription = event.data.object;
        const userId =
          subscription.metadata?.userId ?? (await this.userOf(idOf(subscription.customer)));
        if (!userId) return;
        const live =
          event.type !== 'customer.subscription.deleted' &&
          ['active', 'trialing', 'past_due'].includes(subscription.status);
        const price = subscription.items?.data?.[0]?.price?.id;
        const plan = live ? this.planByPrice(price) : undefined;
        await this.setPlan(userId, plan?.id ?? this.billing.defaultPlan, event.created);
        return;
      }
      case 'invoice.payment_failed': {
        const userId = await this.userOf(idOf(event.data.object.customer));
        if (!userId) return;
        // The first failure starts the grace period; later ones do not extend it.
        await updateByIdIf(
          this.models.BillingAccount,
          userId,
          { graceUntil: null },
          { $set: { graceUntil: new Date(event.created * 1000 + PAYMENT_GRACE_MS) } },
        );
        return;
      }
      case 'invoice.paid': {
        const userId = await this.userOf(idOf(event.data.object.customer));
        if (userId) {
          await this.models.BillingAccount.updateOne(
            { _id: userId },
            { $set: { graceUntil: null } },
          );
        }
        return;
      }
      default:
        this.logger.debug({ type: event.type }, 'a Stripe event Palaver does not use');
    }
  }

  /** Sets the plan unless a newer event set it already (events come in any order). */
  private async setPlan(userId: string, plan: string, created: number): Promise<void> {
    await this.models.BillingAccount.updateOne(
      { _id: userId },
      { $setOnInsert: { planEventAt: 0 } },
      { upsert: true },
    );
    const account = await this.models.BillingAccount.findById(userId).lean();
    const last = account?.planEventAt ?? null;
    if (last !== null && last > created) return;
    await updateByIdIf(
      this.models.BillingAccount,
      userId,
      last === null ? { planEventAt: null } : { planEventAt: { atMost: created } },
      { $set: { plan, planEventAt: created, graceUntil: null } },
    );
  }

  /** The user's Stripe customer, made on first use (Stripe's idempotency key makes it once). */
  private async customerOf(userId: string): Promise<string> {
    const account = await this.models.BillingAccount.findById(userId).lean();
    if (account?.stripeCustomerId) return account.stripeCustomerId;
    const customer = await this.stripe.customers.create(
      { metadata: { userId } },
      { idempotencyKey: `palaver-customer-${userId}` },
    );
    await this.remember(userId, customer.id);
    return customer.id;
  }

  private async remember(userId: string, customerId: string): Promise<void> {
    await this.models.StripeCustomer.updateOne(
      { _id: customerId },
      { $set: { userId } },
      { upsert: true },
    );
    await this.models.BillingAccount.updateOne(
      { _id: userId },
      { $set: { stripeCustomerId: customerId } },
      { upsert: true },
    );
  }

  private async userOf(customerId: string | undefined): Promise<string | undefined> {
    if (!customerId) return undefined;
    return (await this.models.StripeCustomer.findById(customerId).lean())?.userId;
  }

  private planById(id: string | undefined): PlanConfig | undefined {
    return this.billing.plans.find((plan) => plan.id === id);
  }

  private planByPrice(price: string | undefined): PlanConfig | undefined {
    return price ? this.billing.plans.find((plan) => plan.stripePriceId === price) : undefined;
  }
}

function idOf(value: string | { id: string } | null | undefined): string | undefined {
  return typeof value === 'string' ? value : (value?.id ?? undefined);
}
