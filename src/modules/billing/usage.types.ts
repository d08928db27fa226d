import { Field, Float, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { IsInt, IsNumber, IsOptional, Max, Min } from 'class-validator';
import { LlmProvider } from '../llm/llm-provider.enum';

@ObjectType({ description: 'Tokens and cost of model calls (replies and titles).' })
export class UsageTotal {
  @Field(() => Int)
  promptTokens!: number;

  @Field(() => Int)
  completionTokens!: number;

  @Field(() => Int, { description: 'Of the completion tokens, those spent reasoning.' })
  reasoningTokens!: number;

  @Field(() => Int)
  totalTokens!: number;

  @Field(() => Float, { description: 'USD, from MODEL_PRICES (0 for a model it does not price).' })
  costUsd!: number;

  @Field(() => Int, { description: 'Model calls counted.' })
  replies!: number;
}

export enum UsageGrouping {
  DAY = 'DAY',
  MODEL = 'MODEL',
}

registerEnumType(UsageGrouping, {
  name: 'UsageGrouping',
  description: 'How usage is split into buckets.',
  valuesConfig: {
    DAY: { description: 'One bucket per UTC day that had usage.' },
    MODEL: { description: 'One bucket per provider and model over the whole range.' },
  },
});

@ObjectType({ description: 'Usage of one day, or of one model over the range.' })
export class UsageBucket {
  @Field(() => Date, { nullable: true, description: 'The UTC day (grouped by DAY).' })
  day!: Date | null;

  @Field(() => LlmProvider, { nullable: true, description: 'Grouped by MODEL.' })
  provider!: LlmProvider | null;

  @Field(() => String, { nullable: true, description: 'Grouped by MODEL.' })
  model!: string | null;

  @Field(() => UsageTotal)
  usage!: UsageTotal;
}

@ObjectType({
  description: "This month's budget: the lowest limit that applies, and what is used.",
})
export class BudgetStatus {
  @Field(() => String, { description: 'The calendar month (UTC), e.g. "2026-12".' })
  period!: string;

  @Field(() => Int, { nullable: true, description: 'Null: no token limit.' })
  limitTokens!: number | null;

  @Field(() => Float, { nullable: true, description: 'Null: no cost limit.' })
  limitCostUsd!: number | null;

  @Field(() => UsageTotal, { description: 'Settled usage (replies still running are not in it).' })
  used!: UsageTotal;

  @Field(() => Date, { description: 'When the budget renews (the next month, UTC).' })
  resetsAt!: Date;

  @Field(() => String, { description: "The plan's id." })
  plan!: string;
}

@InputType({ description: 'Your own monthly caps; null removes one. Never above the plan.' })
export class SelfBudgetInput {
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(0)
  monthlyTokens?: number | null;

  @Field(() => Float, { nullable: true })
  @IsOptional()
  @IsNumber({ allowInfinity: false, allowNaN: false })
  @Min(0)
  @Max(1_000_000_000)
  monthlyCostUsd?: number | null;
}

@ObjectType({ description: 'A plan the server offers (PLANS).' })
export class Plan {
  @Field(() => String)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Int, { nullable: true, description: 'Null: no token limit.' })
  monthlyTokens!: number | null;

  @Field(() => Float, { nullable: true, description: 'Null: no cost limit.' })
  monthlyCostUsd!: number | null;

  @Field(() => [String], { nullable: true, description: 'Null: every model.' })
  models!: string[] | null;
}

@ObjectType({ description: "Your month's budget crossed a mark." })
export class BudgetEvent {
  @Field(() => Int, { description: 'The share of a limit now used: 80 or 100.' })
  percent!: number;

  @Field(() => BudgetStatus)
  budget!: BudgetStatus;
}
