import type { ModelPrice } from '../../config/billing-config';
import type { Logger } from '../../log/logger';

/** Tokens of one model call, as the ledger counts them. */
export interface CallUsage {
  promptTokens: number;
  completionTokens: number;
  /** Of the completion tokens, those spent reasoning. */
  reasoningTokens: number;
  totalTokens: number;
}

const PER_MILLION = 1_000_000;

/**
 * Prices calls from MODEL_PRICES (USD per million tokens). A model it does not list costs 0
 * (its tokens still count), and is logged once per process, so an operator sees what is
 * missing without a line per reply.
 */
export class UsageCost {
  private readonly unpricedSeen = new Set<string>();

  constructor(
    private readonly prices: Record<string, ModelPrice>,
    private readonly logger: Logger,
  ) {}

  priceOf(model: string): ModelPrice | undefined {
    const price = this.prices[model];
    if (!price && !this.unpricedSeen.has(model)) {
      this.unpricedSeen.add(model);
      this.logger.warn({ model }, 'MODEL_PRICES has no price for this model; its cost counts as 0');
    }
    return price;
  }

  /** What a call cost in USD: reasoning at its own price (else output's). */
  costOf(model: string, usage: CallUsage): number {
    const price = this.priceOf(model);
    if (!price) return 0;
    const reasoning = Math.min(usage.reasoningTokens, usage.completionTokens);
    return (
      (usage.promptTokens * price.input +
        (usage.completionTokens - reasoning) * price.output +
        reasoning * (price.reasoning ?? price.output)) /
      PER_MILLION
    );
  }

  /** The most a reply may cost: its prompt at the input price, `maxReplyTokens` at the output's. */
  reservationOf(model: string, promptTokens: number, maxReplyTokens: number): number {
    const price = this.priceOf(model);
    if (!price) return 0;
    const output = Math.max(price.output, price.reasoning ?? 0);
    return (promptTokens * price.input + maxReplyTokens * output) / PER_MILLION;
  }
}
