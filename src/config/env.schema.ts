import { z } from 'zod';
import { PROVIDER_NAMES } from './provider-names';

/**
 * Every environment variable Palaver reads, with its development default. `.env.example`
 * documents the same list for people; this schema is what the process actually enforces.
 */
const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const booleanFlag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], {
      error: 'must be true or false',
    })
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true' || value === '1' || value === 'yes');

const commaList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value) =>
      value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    );

export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  CORS_ORIGINS: commaList('http://localhost:3000,http://localhost:5173,http://127.0.0.1:4000'),
  TRUST_PROXY: optionalString,

  MONGODB_URL: optionalString,
  DATABASE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be 1-63 letters, digits, _ or -')
    .default('palaver'),

  SECRET_KEY: optionalString,
  ALGORITHM: z.enum(['HS256', 'HS384', 'HS512']).default('HS256'),
  ACCESS_TOKEN_EXPIRE_MINUTES: positiveInt(15),
  REFRESH_TOKEN_EXPIRE_DAYS: positiveInt(30),
  /** A refresh token presented again this soon after its rotation gets the same new pair. */
  REFRESH_TOKEN_REUSE_GRACE_SECONDS: z.coerce.number().int().min(0).max(60).default(5),

  MAIL_SERVER: optionalString,
  MAIL_PORT: positiveInt(587),
  MAIL_USERNAME: optionalString,
  MAIL_PASSWORD: optionalString,
  MAIL_FROM: z.email().default('noreply@palaver.localhost'),
  MAIL_FROM_NAME: z.string().default('Palaver'),
  VERIFICATION_TOKEN_EXPIRE_HOURS: positiveInt(24),
  PASSWORD_RESET_TOKEN_EXPIRE_MINUTES: positiveInt(60),
  APP_URL: z.url().default('http://localhost:3000'),
  REQUIRE_EMAIL_VERIFICATION: booleanFlag(false),

  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: z.url().optional(),
  OPENAI_MODELS: commaList('gpt-4o-mini,gpt-4o,gpt-4.1-mini'),
  ANTHROPIC_API_KEY: optionalString,
  ANTHROPIC_BASE_URL: z.url().optional(),
  ANTHROPIC_MODELS: commaList('claude-sonnet-4-5,claude-haiku-4-5,claude-opus-4-1'),
  GEMINI_API_KEY: optionalString,
  GEMINI_BASE_URL: z.url().optional(),
  GEMINI_MODELS: commaList('gemini-2.5-flash,gemini-2.5-pro,gemini-2.5-flash-lite'),
  OLLAMA_BASE_URL: z.url().optional(),
  OLLAMA_MODELS: commaList('llama3.2'),
  /** Any server that speaks OpenAI's chat API (OpenRouter, vLLM, LiteLLM …): on when set. */
  OPENAI_COMPATIBLE_BASE_URL: z.url().optional(),
  OPENAI_COMPATIBLE_API_KEY: optionalString,
  OPENAI_COMPATIBLE_MODELS: commaList(''),
  DEFAULT_LLM: z.enum(PROVIDER_NAMES).optional(),
  /** The built-in echo model; unset: offered only when no other provider is configured. */
  ECHO_MODEL_ENABLED: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
    .optional()
    .transform((value) =>
      value === undefined ? undefined : value === 'true' || value === '1' || value === 'yes',
    ),
  DEFAULT_CHAT_MODEL: optionalString,

  /** redis://[[user]:password@]host:port, or rediss:// for TLS (ioredis reads both). */
  REDIS_URL: optionalString.refine(
    (value) => value === undefined || /^rediss?:\/\//.test(value),
    'must start with redis:// or rediss:// (TLS)',
  ),
  /** The Prometheus /metrics endpoint; unset: on outside production, off in production. */
  METRICS_ENABLED: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
    .optional()
    .transform((value) =>
      value === undefined ? undefined : value === 'true' || value === '1' || value === 'yes',
    ),
  /** Sockets one user may hold open on one instance (tabs, devices); the next is closed 1008. */
  WS_MAX_SOCKETS_PER_USER: z.coerce.number().int().min(1).max(100_000).default(20),
  /** The most tokens one reply may have (sent to the model as max_tokens). */
  LLM_MAX_REPLY_TOKENS: z.coerce.number().int().min(1).max(1_000_000).default(4_096),
  /** The longest one reply may stream, in seconds; then it ends FAILED with its text so far. */
  REPLY_MAX_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  /** Built-in tools switched on (a chat still uses none until chosen). */
  TOOLS: commaList('current_time,calculator,search_my_chats'),
  /** Built-in tools that wait for the user's approveToolCall before each run. */
  TOOLS_REQUIRE_APPROVAL: commaList(''),
  /**
   * Addresses fetch_url may read although they are not public (tests, an intranet): IPs or
   * CIDR ranges. Never list what the model must not reach.
   */
  FETCH_URL_ALLOW_HOSTS: commaList(''),
  /** MCP servers (JSON: name → {url, headers?} or {command, args?, env?}); see config.ts. */
  MCP_SERVERS: optionalString,
  /**
   * OpenID Connect providers for single sign-on (JSON list of {id, name, issuer, clientId,
   * clientSecret, scopes?}); see config.ts. Unset: none.
   */
  OIDC_PROVIDERS: optionalString,
  /** Where a frontend may ask a provider to send the user back (startOidcSignIn's redirectUri). */
  OIDC_REDIRECT_URIS: commaList(''),
  /** The WebAuthn relying party: a domain (default: APP_URL's host name). */
  WEBAUTHN_RP_ID: optionalString,
  WEBAUTHN_RP_NAME: z.string().default('Palaver'),
  /** Origins a passkey ceremony may come from (default: APP_URL's origin). */
  WEBAUTHN_ORIGINS: commaList(''),
  /** Model calls one reply may make when it uses tools (the last is offered none). */
  TOOL_MAX_STEPS: z.coerce.number().int().min(1).max(50).default(8),
  /** How long a call that needs approval waits for it; then it is DENIED. */
  TOOL_APPROVAL_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  /** The largest attachment one upload may hold, in bytes (20 MB). */
  ATTACHMENT_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_073_741_824)
    .default(20 * 1024 * 1024),
  /** Attachments one prompt may carry. */
  ATTACHMENTS_PER_MESSAGE: z.coerce.number().int().min(1).max(100).default(10),
  /** Bytes of attachments one user may keep, all together (1 GB). */
  STORAGE_QUOTA_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(Number.MAX_SAFE_INTEGER)
    .default(1024 ** 3),
  /** The API's own public origin, for upload and download links; unset: http://HOST:PORT. */
  PUBLIC_URL: z.url().optional(),
  /** Window over which streamed tokens are joined into one delta; 0 sends one per token. */
  STREAM_COALESCE_MS: z.coerce.number().int().min(0).max(1_000).default(30),

  /** JSON: model → {input, output, reasoning?, cached?} in USD per million tokens (billing-config.ts). */
  MODEL_PRICES: optionalString,
  /** JSON list of {id, name, monthlyTokens?, monthlyCostUsd?, models?, stripePriceId?}. */
  PLANS: optionalString,
  /** The plan of users who chose none; unset: the first of PLANS. */
  DEFAULT_PLAN: optionalString,
  STRIPE_SECRET_KEY: optionalString,
  STRIPE_WEBHOOK_SECRET: optionalString,
  /** Stripe's API origin (tests point it at a local fake). */
  STRIPE_API_BASE: z.url().optional(),
});

export type Env = z.infer<typeof envSchema>;
