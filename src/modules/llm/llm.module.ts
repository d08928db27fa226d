import type { Config } from '../../config/config';
import { resolverOf, type AppModule } from '../../kernel/app-module';
import { LlmCatalog } from '../../llm/catalog';
import { LlmProvidersResolver } from './llm-providers.resolver';

export interface LlmModule extends AppModule {
  /** The providers and models this server offers, and the defaults. */
  catalog: LlmCatalog;
}

/** What the server offers (`llmProviders`); the chat module streams from it. */
export function createLlmModule(config: Config): LlmModule {
  const catalog = new LlmCatalog(config.llm);
  return {
    catalog,
    resolvers: [resolverOf(LlmProvidersResolver, new LlmProvidersResolver(catalog))],
  };
}
