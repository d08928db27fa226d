import { z } from 'zod';

/** USD per million tokens of one model (MODEL_PRICES); `reasoning`/`cached` default to output/input. */
export interface ModelPrice {
  input: number;
  output: number;
  reasoning?: number;
  cached?: number;
}

/** One plan of PLANS: monthly limits (none: unlimited), the models it may use (none: all). */
export interface PlanConfig {
  id: string;
  name: string;
  monthlyTokens?: number;
  monthlyCostUsd?: number;
  models?: string[];
  stripePriceId?: string;
}

export interface BillingConfig {
  /** MODEL_PRICES, by model name. */
  modelPrices: Record<string, ModelPrice>;
  /** PLANS; with none set, one unlimited plan named by DEFAULT_PLAN. */
  plans: PlanConfig[];
  /** DEFAULT_PLAN: the plan of every user who has not chosen one. */
  defaultPlan: string;
  /** Set when STRIPE_SECRET_KEY is: startCheckout, openBillingPortal and the webhook. */
  stripe?: { secretKey: string; webhookSecret?: string; apiBase?: string };
}

/** When PLANS is unset: one plan with no limits, so a server without billing behaves as before. */
export const UNLIMITED_PLAN: PlanConfig = { id: 'free', name: 'Free' };

const price = z.number().nonnegative().finite();
const modelPricesSchema = z.record(
  z.string().min(1),
  z.strictObject({
    input: price,
    output: price,
    reasoning: price.optional(),
    cached: price.optional(),
  }),
);
const plansSchema = z
  .array(
    z.strictObject({
      id: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'must be 1-40 letters, digits, _ or -'),
      name: z.string().min(1),
      monthlyTokens: z.number().int().nonnegative().optional(),
      monthlyCostUsd: z.number().nonnegative().finite().optional(),
      models: z.array(z.string().min(1)).optional(),
      stripePriceId: z.string().min(1).optional(),
    }),
  )
  .min(1);

/** Reads MODEL_PRICES, PLANS and DEFAULT_PLAN; what is wrong goes to `problems`. */
export function parseBillingConfig(
  raw: {
    MODEL_PRICES?: string;
    PLANS?: string;
    DEFAULT_PLAN?: string;
    STRIPE_SECRET_KEY?: string;
    STRIPE_WEBHOOK_SECRET?: string;
    STRIPE_API_BASE?: string;
  },
  problems: string[],
): BillingConfig {
  const modelPrices =
    parseJson(raw.MODEL_PRICES, 'MODEL_PRICES', modelPricesSchema, problems) ?? {};
  const plans = parseJson(raw.PLANS, 'PLANS', plansSchema, problems) ?? [UNLIMITED_PLAN];
  const ids = plans.map((plan) => plan.id);
  if (new Set(ids).size !== ids.length) problems.push('PLANS: each plan needs its own id');
  const defaultPlan = raw.DEFAULT_PLAN ?? plans[0]!.id;
  if (!ids.includes(defaultPlan)) {
    problems.push(`DEFAULT_PLAN is ${defaultPlan}, but PLANS has no such plan (${ids.join(', ')})`);
  }
  if (raw.STRIPE_SECRET_KEY && !raw.STRIPE_WEBHOOK_SECRET) {
    problems.push('STRIPE_WEBHOOK_SECRET is required with STRIPE_SECRET_KEY (webhooks are signed)');
  }
  const stripe = raw.STRIPE_SECRET_KEY
    ? {
        secretKey: raw.STRIPE_SECRET_KEY,
        webhookSecret: raw.STRIPE_WEBHOOK_SECRET,
        apiBase: raw.STRIPE_API_BASE?.replace(/\/+$/, ''),
      }
    : undefined;
  return { modelPrices, plans, defaultPlan, stripe };
}

function parseJson<T>(
  raw: string | undefined,
  name: string,
  schema: z.ZodType<T>,
  problems: string[],
): T | undefined {
  if (!raw) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    problems.push(`${name} must be JSON`);
    return undefined;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    problems.push(
      `${name}: ${parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; ')}`,
    );
    return undefined;
  }
  return parsed.data;
}
