import type { Config, ProviderConfig } from '../config/config';
import type { ProviderName } from '../config/provider-names';

export interface ModelChoice {
  llm: ProviderName;
  chatModel: string;
}

/** Which providers and models this server offers, from configuration only. */
export class LlmCatalog {
  constructor(private readonly config: Config['llm']) {}

  list(): Array<ProviderConfig & { defaultModel: string }> {
    return this.config.providers.map((provider) => ({
      ...provider,
      defaultModel:
        provider.llm === this.config.defaultLlm
          ? this.config.defaultChatModel
          : provider.models[0]!,
    }));
  }

  get defaultChoice(): ModelChoice {
    return { llm: this.config.defaultLlm, chatModel: this.config.defaultChatModel };
  }

  provider(llm: ProviderName): ProviderConfig | undefined {
    return this.config.providers.find((provider) => provider.llm === llm);
  }

  /** Why a choice is not on offer, or null when it is. */
  whyUnavailable(choice: ModelChoice): string | null {
    const provider = this.provider(choice.llm);
    if (!provider) {
      const offered = this.config.providers
        .map((offer) => `${offer.llm} (${offer.models.join(', ')})`)
        .join('; ');
      return `The ${choice.llm} provider is not offered on this server; choose one of: ${offered}.`;
    }
    if (!provider.models.includes(choice.chatModel)) {
      // The model asked for is the client's text: named by what is on offer, not repeated.
      return `That model is not one of ${choice.llm}'s models: ${provider.models.join(', ')}.`;
    }
    return null;
  }
}
