import type { Config, ProviderConfig } from '../config/config';
import type { ProviderName } from '../config/provider-names';
import { AnthropicModelClient } from './anthropic.model-client';
import { EchoModelClient } from './echo.model-client';
import { GeminiModelClient } from './gemini.model-client';
import {
  DEFAULT_OPENAI_TIMEOUTS,
  OpenAiModelClient,
  type OpenAiModelClientOptions,
} from './openai.model-client';
import type { ModelClient } from './model-client';

export type ModelClients = Partial<Record<ProviderName, ModelClient>>;

/** Ollama speaks OpenAI's API under /v1; a base URL given without it still works. */
function ollamaBaseUrl(url: string): string {
  return /\/v1\/?$/.test(url) ? url : `${url.replace(/\/+$/, '')}/v1`;
}

type ClientOptions = Partial<
  Pick<OpenAiModelClientOptions, 'firstByteTimeoutMs' | 'idleTimeoutMs' | 'retriesBeforeFirstToken'>
> & {
  echoWordDelayMs?: number;
};

type Timeouts = Required<
  Pick<
    OpenAiModelClientOptions,
    'firstByteTimeoutMs' | 'idleTimeoutMs' | 'retriesBeforeFirstToken' | 'maxReplyTokens'
  >
>;

/**
 * How each provider's model client is made: a table with one entry per name of
 * PROVIDER_NAMES, so a provider added there does not compile until it has a client here.
 */
const CLIENTS: Record<
  ProviderName,
  (provider: ProviderConfig, timeouts: Timeouts, options: ClientOptions) => ModelClient
> = {
  OPEN_AI: (provider, timeouts) =>
    new OpenAiModelClient({ ...timeouts, baseUrl: provider.baseUrl, apiKey: provider.apiKey }),
  ANTHROPIC: (provider, timeouts) =>
    new AnthropicModelClient({ ...timeouts, baseUrl: provider.baseUrl, apiKey: provider.apiKey! }),
  GEMINI: (provider, timeouts) =>
    new GeminiModelClient({ ...timeouts, baseUrl: provider.baseUrl, apiKey: provider.apiKey! }),
  OLLAMA: (provider, timeouts) =>
    new OpenAiModelClient({ ...timeouts, baseUrl: ollamaBaseUrl(provider.baseUrl!) }),
  OPENAI_COMPATIBLE: (provider, timeouts) =>
    new OpenAiModelClient({ ...timeouts, baseUrl: provider.baseUrl, apiKey: provider.apiKey }),
  ECHO: (_provider, _timeouts, options) => new EchoModelClient(options.echoWordDelayMs),
};

/** One model client per configured provider. */
export function createModelClients(
  config: Config['llm'],
  options: ClientOptions = {},
): ModelClients {
  const clients: ModelClients = {};
  for (const provider of config.providers) {
    const timeouts = {
      ...DEFAULT_OPENAI_TIMEOUTS,
      maxReplyTokens: config.maxReplyTokens,
      ...options,
    };
    clients[provider.llm] = CLIENTS[provider.llm](provider, timeouts, options);
  }
  return clients;
}
