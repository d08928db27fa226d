import { BadUserInputError } from '../../errors/errors';
import type { StripeBilling } from './stripe-billing';

/** startCheckout and openBillingPortal; refused where the server takes no payments. */
export class CheckoutService {
  constructor(private readonly stripe: StripeBilling | undefined) {}

  startCheckout(userId: string, plan: string): Promise<string> {
    return this.payments().startCheckout(userId, plan);
  }

  openBillingPortal(userId: string): Promise<string> {
    return this.payments().openBillingPortal(userId);
  }

  private payments(): StripeBilling {
    if (!this.stripe) {
      throw new BadUserInputError({}, 'This server takes no payments (Stripe is not configured).');
    }
    return this.stripe;
  }
}
