import type { Config, LlmProviderName } from '../config/config';
import { UnreachableCaseError } from '../errors/errors';
import { EchoProvider } from './echo.provider';
import {
  DEFAULT_OPENAI_TIMEOUTS,
  OpenAiProvider,
  type OpenAiProviderOptions,
} from './openai.provider';
import type { ModelClient } from './provider';

export type LlmProviders = Partial<Record<LlmProviderName, ModelClient>>;

/** Ollama speaks OpenAI's API under /v1; a base URL given without it still works. */
function ollamaBaseUrl(url: string): string {
  return /\/v1\/?$/.test(url) ? url : `${url.replace(/\/+$/, '')}/v1`;
}

/** One provider instance per configured family. */
export function createProviders(
  config: Config['llm'],
  overrides: Partial<
    Pick<OpenAiProviderOptions, 'firstByteTimeoutMs' | 'idleTimeoutMs' | 'retriesBeforeFirstToken'>
  > & {
    echoWordDelayMs?: number;
  } = {},
): LlmProviders {
  const providers: LlmProviders = {};
  for (const provider of config.providers) {
    const timeouts = {
      ...DEFAULT_OPENAI_TIMEOUTS,
      maxReplyTokens: config.maxReplyTokens,
      ...overrides,
    };
    switch (provider.llm) {
      case 'OPEN_AI':
        providers.OPEN_AI = new OpenAiProvider({
          ...timeouts,
          baseUrl: provider.baseUrl,
          apiKey: provider.apiKey,
        });
        break;
      case 'OLLAMA':
        providers.OLLAMA = new OpenAiProvider({
          ...timeouts,
          baseUrl: ollamaBaseUrl(provider.baseUrl!),
        });
        break;
      case 'ECHO':
        providers.ECHO = new EchoProvider(overrides.echoWordDelayMs);
        break;
      default:
        throw new UnreachableCaseError(provider.llm);
    }
  }
  return providers;
}
