import { z } from 'zod';
import { envSchema, type Env } from './env.schema';
import { isLoopbackHost, localSecret, LocalSecretError } from './local-secret';
import type { ProviderName } from './provider-names';
import { parseBillingConfig, type BillingConfig } from './billing-config';

export type NodeEnv = Env['NODE_ENV'];

export interface ProviderConfig {
  llm: ProviderName;
  baseUrl?: string;
  apiKey?: string;
  models: string[];
}

/** The built-in tools a server may switch on (TOOLS). */
export const BUILT_IN_TOOLS = [
  'current_time',
  'calculator',
  'search_my_chats',
  'fetch_url',
] as const;
export type BuiltInToolName = (typeof BUILT_IN_TOOLS)[number];

const mcpCommon = {
  /** Every call of this server's tools waits for approveToolCall. */
  requiresApproval: z.boolean().optional(),
  /** Only these of its tools are offered (all when absent). */
  tools: z.array(z.string()).optional(),
};
const mcpServersSchema = z.record(
  z.string().regex(/^[a-zA-Z0-9_-]{1,32}$/, 'MCP server names are 1-32 letters, digits, _ or -'),
  z.union([
    z.strictObject({
      // Credentials go in headers: a URL is logged when its server cannot be reached.
      url: z.url().refine((url) => !/^[a-z]+:\/\/[^/?#]*@/i.test(url), {
        message: 'must not hold credentials (user:password@); put them in headers',
      }),
      headers: z.record(z.string(), z.string()).optional(),
      ...mcpCommon,
    }),
    z.strictObject({
      command: z.string().min(1),
      args: z.array(z.string()).optional(),
      env: z.record(z.string(), z.string()).optional(),
      ...mcpCommon,
    }),
  ]),
);

/** One MCP server: Streamable HTTP (`url`) or a command spoken to over stdio. */
/** One OpenID Connect provider of OIDC_PROVIDERS. */
export interface OidcProviderConfig {
  /** Stable: stored on linked identities (LinkedIdentity.provider). */
  id: string;
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
}

const oidcProvidersSchema = z
  .array(
    z.strictObject({
      id: z.string().regex(/^[a-z0-9_-]{1,40}$/, 'must be 1-40 of a-z, 0-9, _ or -'),
      name: z.string().min(1),
      issuer: z.url(),
      clientId: z.string().min(1),
      clientSecret: z.string().min(1),
      scopes: z.array(z.string().min(1)).default(['openid', 'email', 'profile']),
    }),
  )
  .refine((list) => new Set(list.map((p) => p.id)).size === list.length, 'ids must be unique');

export type McpServerConfig = { name: string; requiresApproval: boolean; tools?: string[] } & (
  | { url: string; headers?: Record<string, string> }
  | { command: string; args?: string[]; env?: Record<string, string> }
);

/** The one validated configuration object; nothing else in src/ reads process.env. */
export interface Config {
  nodeEnv: NodeEnv;
  isProduction: boolean;
  /**
   * Introspection (and, in development, internal error messages): for a developer's own
   * machine, so only outside production on a loopback HOST.
   */
  developerTools: boolean;
  http: {
    port: number;
    host: string;
    corsOrigins: string[];
    trustProxy: boolean | number | string;
    /** WS_MAX_SOCKETS_PER_USER */
    maxSocketsPerUser: number;
  };
  logLevel: NonNullable<Env['LOG_LEVEL']>;
  database: { url?: string; name: string };
  auth: {
    secretKey: string;
    algorithm: Env['ALGORITHM'];
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    /** Two tabs refreshing at once both get the new pair within this window (0: off). */
    refreshReuseGraceMs: number;
    verificationTokenTtlSeconds: number;
    passwordResetTokenTtlSeconds: number;
    requireEmailVerification: boolean;
    issuer: string;
    audience: string;
  };
  mail: {
    server?: string;
    port: number;
    username?: string;
    password?: string;
    from: string;
    fromName: string;
  };
  appUrl: string;
  llm: {
    providers: ProviderConfig[];
    defaultLlm: ProviderName;
    defaultChatModel: string;
    streamCoalesceMs: number;
    /** LLM_MAX_REPLY_TOKENS */
    maxReplyTokens: number;
    /** REPLY_MAX_SECONDS, in ms */
    maxReplyMs: number;
  };
  tools: {
    /** TOOLS */
    builtIn: BuiltInToolName[];
    /** TOOLS_REQUIRE_APPROVAL */
    requireApproval: BuiltInToolName[];
    /** FETCH_URL_ALLOW_HOSTS */
    fetchAllowHosts: string[];
    mcpServers: McpServerConfig[];
    /** TOOL_MAX_STEPS */
    maxSteps: number;
    /** TOOL_APPROVAL_TIMEOUT_SECONDS, in ms */
    approvalTimeoutMs: number;
  };
  attachments: {
    /** ATTACHMENT_MAX_BYTES */
    maxBytes: number;
    /** ATTACHMENTS_PER_MESSAGE */
    perMessage: number;
    /** STORAGE_QUOTA_BYTES */
    quotaBytes: number;
  };
  /** PUBLIC_URL without its trailing slash; unset: the listening address (see publicOrigin). */
  publicUrl?: string;
  oidc: {
    /** OIDC_PROVIDERS */
    providers: OidcProviderConfig[];
    /** OIDC_REDIRECT_URIS: the only redirectUris startOidcSignIn accepts. */
    redirectUris: string[];
  };
  webauthn: {
    /** WEBAUTHN_RP_ID, default APP_URL's host name */
    rpId: string;
    /** WEBAUTHN_RP_NAME */
    rpName: string;
    /** WEBAUTHN_ORIGINS, default APP_URL's origin */
    origins: string[];
  };
  redisUrl?: string;
  /** Whether GET /metrics answers (METRICS_ENABLED; by default everywhere but production). */
  metricsEnabled: boolean;
  /** MODEL_PRICES, PLANS, DEFAULT_PLAN. */
  billing: BillingConfig;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The shortest SECRET_KEY a server that others can reach (or share data with) accepts. */
const MIN_SHARED_SECRET_LENGTH = 32;
const ECHO_MODEL = 'echo-1';

export interface LoadOptions {
  /** Where a local setup keeps its generated secret (tests point it elsewhere). */
  localSecretFile?: string;
}

/** The local setup's own secret; a broken secret file is a configuration problem to name. */
function localSecretOf(file: string | undefined): string {
  try {
    return localSecret(file);
  } catch (error) {
    if (error instanceof LocalSecretError) throw new ConfigError(error.message);
    throw error;
  }
}

export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: LoadOptions = {},
): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`Invalid configuration: ${describeIssues(parsed.error)}`);
  }
  const e = parsed.data;
  const isProduction = e.NODE_ENV === 'production';

  const problems: string[] = [];
  if (isProduction && !e.MONGODB_URL) {
    problems.push('MONGODB_URL is required in production (the local database is for development)');
  }
  const loopback = isLoopbackHost(e.HOST);
  if (isProduction && (e.SECRET_KEY ?? '').length < MIN_SHARED_SECRET_LENGTH) {
    problems.push(
      `SECRET_KEY must be set to at least ${MIN_SHARED_SECRET_LENGTH} characters in production`,
    );
  } else if (
    e.SECRET_KEY !== undefined &&
    e.SECRET_KEY.length < MIN_SHARED_SECRET_LENGTH &&
    (e.MONGODB_URL || !loopback)
  ) {
    // Whatever NODE_ENV says: a short key signs tokens that anyone who can reach it may guess.
    problems.push(
      `SECRET_KEY must be at least ${MIN_SHARED_SECRET_LENGTH} characters when MONGODB_URL is set or HOST is not a loopback address`,
    );
  }

  // Without SECRET_KEY, only a local setup may run, on a secret of its own (local-secret.ts):
  // a shared database or a reachable address means other people's tokens, so it must be set.
  if (!isProduction && !e.SECRET_KEY) {
    if (e.MONGODB_URL) {
      problems.push('SECRET_KEY is required when MONGODB_URL is set (a shared database)');
    }
    if (!loopback) {
      problems.push(`SECRET_KEY is required when HOST (${e.HOST}) is not a loopback address`);
    }
  }

  const providers = buildProviders(e);
  // The first provider offered (hosted ones first), the built-in echo model when none is.
  const defaultLlm = e.DEFAULT_LLM ?? providers[0]?.llm ?? 'ECHO';
  if (e.OPENAI_COMPATIBLE_BASE_URL && e.OPENAI_COMPATIBLE_MODELS.length === 0) {
    problems.push('OPENAI_COMPATIBLE_MODELS must name the models of OPENAI_COMPATIBLE_BASE_URL');
  }
  const defaultProvider = providers.find((provider) => provider.llm === defaultLlm);
  if (!defaultProvider) {
    problems.push(`DEFAULT_LLM is ${defaultLlm}, but that provider is not configured`);
  }
  const defaultChatModel = e.DEFAULT_CHAT_MODEL ?? defaultProvider?.models[0] ?? ECHO_MODEL;
  if (defaultProvider && !defaultProvider.models.includes(defaultChatModel)) {
    problems.push(
      `DEFAULT_CHAT_MODEL ${defaultChatModel} is not one of ${defaultLlm}'s models (${defaultProvider.models.join(', ')})`,
    );
  }
  const unknownTools = [...e.TOOLS, ...e.TOOLS_REQUIRE_APPROVAL].filter(
    (name) => !(BUILT_IN_TOOLS as readonly string[]).includes(name),
  );
  if (unknownTools.length > 0) {
    problems.push(
      `TOOLS and TOOLS_REQUIRE_APPROVAL name built-in tools (${BUILT_IN_TOOLS.join(', ')}), not ${unknownTools.join(', ')}`,
    );
  }
  const mcpServers = parseMcpServers(e.MCP_SERVERS, problems);
  const oidcProviders = parseOidcProviders(e.OIDC_PROVIDERS, problems);
  const billing = parseBillingConfig(e, problems);
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }

  return {
    nodeEnv: e.NODE_ENV,
    isProduction,
    developerTools: !isProduction && loopback,
    http: {
      port: e.PORT,
      host: e.HOST,
      corsOrigins: e.CORS_ORIGINS,
      trustProxy: parseTrustProxy(e.TRUST_PROXY),
      maxSocketsPerUser: e.WS_MAX_SOCKETS_PER_USER,
    },
    logLevel: e.LOG_LEVEL ?? (e.NODE_ENV === 'test' ? 'silent' : 'info'),
    database: { url: e.MONGODB_URL, name: e.DATABASE_NAME },
    auth: {
      secretKey: e.SECRET_KEY ?? localSecretOf(options.localSecretFile),
      algorithm: e.ALGORITHM,
      accessTokenTtlSeconds: e.ACCESS_TOKEN_EXPIRE_MINUTES * 60,
      refreshTokenTtlSeconds: e.REFRESH_TOKEN_EXPIRE_DAYS * 24 * 3600,
      refreshReuseGraceMs: e.REFRESH_TOKEN_REUSE_GRACE_SECONDS * 1000,
      verificationTokenTtlSeconds: e.VERIFICATION_TOKEN_EXPIRE_HOURS * 3600,
      passwordResetTokenTtlSeconds: e.PASSWORD_RESET_TOKEN_EXPIRE_MINUTES * 60,
      requireEmailVerification: e.REQUIRE_EMAIL_VERIFICATION,
      issuer: 'palaver',
      audience: 'palaver-api',
    },
    mail: {
      server: e.MAIL_SERVER,
      port: e.MAIL_PORT,
      username: e.MAIL_USERNAME,
      password: e.MAIL_PASSWORD,
      from: e.MAIL_FROM,
      fromName: e.MAIL_FROM_NAME,
    },
    appUrl: e.APP_URL.replace(/\/+$/, ''),
    llm: {
      providers,
      defaultLlm,
      defaultChatModel,
      streamCoalesceMs: e.STREAM_COALESCE_MS,
      maxReplyTokens: e.LLM_MAX_REPLY_TOKENS,
      maxReplyMs: e.REPLY_MAX_SECONDS * 1000,
    },
    tools: {
      builtIn: e.TOOLS as BuiltInToolName[],
      requireApproval: e.TOOLS_REQUIRE_APPROVAL as BuiltInToolName[],
      fetchAllowHosts: e.FETCH_URL_ALLOW_HOSTS,
      mcpServers,
      maxSteps: e.TOOL_MAX_STEPS,
      approvalTimeoutMs: e.TOOL_APPROVAL_TIMEOUT_SECONDS * 1000,
    },
    attachments: {
      maxBytes: e.ATTACHMENT_MAX_BYTES,
      perMessage: e.ATTACHMENTS_PER_MESSAGE,
      quotaBytes: e.STORAGE_QUOTA_BYTES,
    },
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ''),
    oidc: {
      providers: oidcProviders,
      redirectUris: e.OIDC_REDIRECT_URIS,
    },
    webauthn: {
      rpId: e.WEBAUTHN_RP_ID ?? new URL(e.APP_URL).hostname,
      rpName: e.WEBAUTHN_RP_NAME,
      origins: e.WEBAUTHN_ORIGINS.length > 0 ? e.WEBAUTHN_ORIGINS : [new URL(e.APP_URL).origin],
    },
    redisUrl: e.REDIS_URL,
    metricsEnabled: e.METRICS_ENABLED ?? !isProduction,
    billing,
  };
}

function buildProviders(e: Env): ProviderConfig[] {
  const providers: ProviderConfig[] = [];
  if (e.OPENAI_API_KEY) {
    providers.push({
      llm: 'OPEN_AI',
      apiKey: e.OPENAI_API_KEY,
      baseUrl: e.OPENAI_BASE_URL,
      models: e.OPENAI_MODELS,
    });
  }
  if (e.ANTHROPIC_API_KEY) {
    providers.push({
      llm: 'ANTHROPIC',
      apiKey: e.ANTHROPIC_API_KEY,
      baseUrl: e.ANTHROPIC_BASE_URL,
      models: e.ANTHROPIC_MODELS,
    });
  }
  if (e.GEMINI_API_KEY) {
    providers.push({
      llm: 'GEMINI',
      apiKey: e.GEMINI_API_KEY,
      baseUrl: e.GEMINI_BASE_URL,
      models: e.GEMINI_MODELS,
    });
  }
  if (e.OLLAMA_BASE_URL) {
    providers.push({ llm: 'OLLAMA', baseUrl: e.OLLAMA_BASE_URL, models: e.OLLAMA_MODELS });
  }
  if (e.OPENAI_COMPATIBLE_BASE_URL) {
    providers.push({
      llm: 'OPENAI_COMPATIBLE',
      apiKey: e.OPENAI_COMPATIBLE_API_KEY,
      baseUrl: e.OPENAI_COMPATIBLE_BASE_URL,
      models: e.OPENAI_COMPATIBLE_MODELS,
    });
  }
  // The built-in echo model: a fresh checkout chats with no setup; once an operator configures
  // a real provider, its users see only that, unless ECHO_MODEL_ENABLED says otherwise (tests).
  if (e.ECHO_MODEL_ENABLED ?? providers.length === 0) {
    providers.push({ llm: 'ECHO', models: [ECHO_MODEL] });
  }
  return providers;
}

/** MCP_SERVERS: JSON, name → server; what is wrong is told without echoing values (headers hold keys). */
function parseMcpServers(raw: string | undefined, problems: string[]): McpServerConfig[] {
  if (!raw) return [];
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    problems.push('MCP_SERVERS must be JSON (name → {url, headers?} or {command, args?, env?})');
    return [];
  }
  const parsed = mcpServersSchema.safeParse(json);
  if (!parsed.success) {
    problems.push(`MCP_SERVERS: ${describeIssues(parsed.error)}`);
    return [];
  }
  return Object.entries(parsed.data).map(([name, server]) => ({
    ...server,
    name,
    requiresApproval: server.requiresApproval ?? false,
  }));
}

/** OIDC_PROVIDERS: JSON list; what is wrong is told without echoing values (secrets). */
function parseOidcProviders(raw: string | undefined, problems: string[]): OidcProviderConfig[] {
  if (!raw) return [];
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    problems.push(
      'OIDC_PROVIDERS must be JSON (a list of {id, name, issuer, clientId, clientSecret, scopes?})',
    );
    return [];
  }
  const parsed = oidcProvidersSchema.safeParse(json);
  if (!parsed.success) {
    problems.push(`OIDC_PROVIDERS: ${describeIssues(parsed.error)}`);
    return [];
  }
  return parsed.data;
}

/** Mirrors Express's `trust proxy` values: true/false, a hop count, or addresses/subnets. */
function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || value === 'false' || value === '0') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.join('.') || '(root)'} ${issue.message}`)
    .join('; ');
}
