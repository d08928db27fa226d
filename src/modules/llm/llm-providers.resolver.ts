import { Query, Resolver } from 'type-graphql';
import type { LlmCatalog } from '../../llm/catalog';
import { modelInfoOf } from '../../llm/model-info';
import { LlmProviderInfo } from './llm-provider-info.type';

@Resolver()
export class LlmProvidersResolver {
  constructor(private readonly catalog: LlmCatalog) {}

  @Query(() => [LlmProviderInfo], {
    description: 'The providers and models this server offers. Needs no sign-in.',
  })
  llmProviders(): LlmProviderInfo[] {
    return this.catalog.list().map((provider) => ({
      llm: provider.llm,
      models: provider.models,
      defaultModel: provider.defaultModel,
      modelInfo: provider.models.map((model) => modelInfoOf(provider.llm, model)),
    }));
  }
}
