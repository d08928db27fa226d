import { Arg, Authorized, Ctx, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context';
import { viewerOf } from '../../graphql/viewer';
import type { BudgetService } from './budget.service';
import type { UsageService } from './usage.service';
import type { CheckoutService } from './checkout.service';
import type { BudgetEventPayload, BudgetEvents } from './budget-events';
import {
  BudgetEvent,
  BudgetStatus,
  Plan,
  SelfBudgetInput,
  UsageBucket,
  UsageGrouping,
} from './usage.types';

/** graphql-ws and Apollo call a subscription's `subscribe` without the resolver instance. */
const resolverOf = (context: GraphQLContext) =>
  context.container.get(BillingResolver) as BillingResolver;

@Resolver()
export class BillingResolver {
  constructor(
    private readonly usageService: UsageService,
    private readonly budgets: BudgetService,
    private readonly checkout: CheckoutService,
    readonly events: BudgetEvents,
  ) {}

  @Authorized()
  @Query(() => [UsageBucket], {
    description: 'Your usage from `from` to `to` (UTC days overlapping the range; at most 366).',
  })
  usage(
    // A Date is not a class-validator object: checked by the service instead.
    @Arg('from', () => Date, { validate: false }) from: Date,
    @Arg('to', () => Date, { validate: false }) to: Date,
    @Arg('groupBy', () => UsageGrouping, {
      nullable: true,
      defaultValue: UsageGrouping.DAY,
    })
    groupBy: UsageGrouping | null,
    @Ctx() context: GraphQLContext,
  ): Promise<UsageBucket[]> {
    return this.usageService.usage(
      viewerOf(context).userId,
      from,
      to,
      groupBy ?? UsageGrouping.DAY,
    );
  }

  @Authorized()
  @Query(() => BudgetStatus, { description: "This month's budget and what is used of it." })
  budget(@Ctx() context: GraphQLContext): Promise<BudgetStatus> {
    return this.budgets.status(viewerOf(context).userId);
  }

  @Query(() => [Plan], { description: 'The plans this server offers.' })
  plans(): Plan[] {
    return this.budgets.plans();
  }

  @Authorized()
  @Mutation(() => BudgetStatus, {
    description: 'Sets your own monthly caps (never above your plan); the lowest limit applies.',
  })
  setSelfBudget(
    @Arg('input', () => SelfBudgetInput) input: SelfBudgetInput,
    @Ctx() context: GraphQLContext,
  ): Promise<BudgetStatus> {
    return this.budgets.setSelf(viewerOf(context).userId, input);
  }

  @Authorized()
  @Mutation(() => String, {
    description:
      "A Stripe Checkout page's URL that subscribes you to the plan (its stripePriceId); the plan applies once Stripe confirms.",
  })
  startCheckout(
    @Arg('plan', () => String) plan: string,
    @Ctx() context: GraphQLContext,
  ): Promise<string> {
    return this.checkout.startCheckout(viewerOf(context).userId, plan);
  }

  @Authorized()
  @Mutation(() => String, {
    description: "Stripe's customer portal URL: change or cancel the subscription, see invoices.",
  })
  openBillingPortal(@Ctx() context: GraphQLContext): Promise<string> {
    return this.checkout.openBillingPortal(viewerOf(context).userId);
  }

  @Authorized()
  @Subscription(() => BudgetEvent, {
    description:
      "Your month's budget crossed 80 % or 100 % of a limit (after a reply settled), with the budget as it is then.",
    subscribe: ({ context }) => resolverOf(context).events.subscribe(viewerOf(context).userId),
  })
  async budgetEvents(
    @Root() event: BudgetEventPayload,
    @Ctx() context: GraphQLContext,
  ): Promise<BudgetEvent> {
    return { percent: event.percent, budget: await this.budgets.status(viewerOf(context).userId) };
  }
}
