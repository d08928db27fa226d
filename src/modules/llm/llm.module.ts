import type { Config } from '../../config/config';
import { instancesOf, type AppModule } from '../../graphql/app-module';
import { LlmCatalog } from '../../llm/catalog';
import { LlmProvidersResolver } from './llm-providers.resolver';

/** The llm feature's part of the schema; the module gives an instance of each. */
export const LLM_RESOLVERS = [LlmProvidersResolver] as const;

export interface LlmModule extends AppModule {
  /** The providers and models this server offers, and the defaults. */
  catalog: LlmCatalog;
}

/** What the server offers (`llmProviders`); the chat module streams from it. */
export function createLlmModule(config: Config): LlmModule {
  const catalog = new LlmCatalog(config.llm);
  return {
    catalog,
    resolvers: instancesOf(LLM_RESOLVERS, [new LlmProvidersResolver(catalog)]),
  };
}
