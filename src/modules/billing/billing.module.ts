import type { Connection } from 'mongoose';
import type { Config } from '../../config/config';
import { bindModel } from '../../db/models';
import { instancesOf, type AppModule } from '../../graphql/app-module';
import type { Logger } from '../../log/logger';
import type { RedisClients } from '../../redis/redis-clients';
import { BillingAccountRecord, type BillingAccountModel } from './billing-account.model';
import { BillingResolver } from './billing.resolver';
import { BudgetGate } from './budget-gate';
import type { Amount, BudgetPeriod, BudgetStore } from './budget-store';
import { BudgetService } from './budget.service';
import { LocalBudgetStore } from './local-budget-store';
import { RedisBudgetStore } from './redis-budget-store';
import type { ReplyBudget } from './reply-budget';
import { UsageCost } from './usage-cost';
import { totalIds, UsageLedger } from './usage-ledger';
import { UsageRecordRecord, type UsageRecordModel } from './usage-record.model';
import { UsageTotalRecord, type UsageTotalModel } from './usage-total.model';
import { UsageService } from './usage.service';
import { BudgetEvents } from './budget-events';
import type { PalaverPubSub } from '../../pubsub/pubsub';
import { CheckoutService } from './checkout.service';
import { StripeBilling } from './stripe-billing';
import {
  StripeCustomerRecord,
  StripeEventRecord,
  type StripeCustomerModel,
  type StripeEventModel,
} from './stripe-records.model';

/** The billing feature's part of the schema; the module gives an instance of each. */
export const BILLING_RESOLVERS = [BillingResolver] as const;

/** The billing feature's collections. */
export interface BillingModels {
  UsageRecord: UsageRecordModel;
  UsageTotal: UsageTotalModel;
  BillingAccount: BillingAccountModel;
  StripeEvent: StripeEventModel;
  StripeCustomer: StripeCustomerModel;
}

export function bindBillingModels(connection: Connection): BillingModels {
  return {
    UsageRecord: bindModel(connection, 'UsageRecord', UsageRecordRecord),
    UsageTotal: bindModel(connection, 'UsageTotal', UsageTotalRecord),
    BillingAccount: bindModel(connection, 'BillingAccount', BillingAccountRecord),
    StripeEvent: bindModel(connection, 'StripeEvent', StripeEventRecord),
    StripeCustomer: bindModel(connection, 'StripeCustomer', StripeCustomerRecord),
  };
}

export interface BillingModuleDependencies {
  config: Config;
  logger: Logger;
  models: BillingModels;
  /** Set when REDIS_URL is: reservations are then shared by every instance. */
  redis?: RedisClients;
  /** budgetEvents reach the user's devices on any instance. */
  pubSub: PalaverPubSub;
}

export interface BillingModule extends AppModule {
  /** What chat reserves each reply against and counts its model calls with. */
  budget: ReplyBudget;
  /** Set when STRIPE_SECRET_KEY is: `POST /webhooks/stripe` hands it each event. */
  stripe?: StripeBilling;
}

/** Usage, budgets and plans (issue 35). */
export function createBillingModule(deps: BillingModuleDependencies): BillingModule {
  const { config, logger, models, redis, pubSub } = deps;
  const cost = new UsageCost(config.billing.modelPrices, logger);
  const ledger = new UsageLedger(models, cost, logger);
  const usedOf = async ({ userId, month }: BudgetPeriod): Promise<Amount> => {
    const total = await models.UsageTotal.findById(totalIds.month(userId, month)).lean();
    return { tokens: total?.totalTokens ?? 0, costUsd: total?.costUsd ?? 0 };
  };
  const store: BudgetStore = redis
    ? new RedisBudgetStore(redis.limiter, usedOf, config.llm.maxReplyMs, logger)
    : new LocalBudgetStore(usedOf);
  const budgetEvents = new BudgetEvents(pubSub);
  const gate = new BudgetGate(
    models,
    config.billing,
    config.llm.maxReplyTokens,
    store,
    ledger,
    cost,
    budgetEvents,
    logger,
  );
  const stripe = config.billing.stripe
    ? new StripeBilling(
        models,
        config.billing,
        { ...config.billing.stripe, appUrl: config.appUrl },
        logger,
      )
    : undefined;
  return {
    budget: gate,
    stripe,
    resolvers: instancesOf(BILLING_RESOLVERS, [
      new BillingResolver(
        new UsageService(models),
        new BudgetService(models, config.billing, gate),
        new CheckoutService(stripe),
        budgetEvents,
      ),
    ]),
    stop: () => store.close(),
  };
}
