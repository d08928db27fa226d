import { registerEnumType } from 'type-graphql';
import { PROVIDER_NAMES, type ProviderName } from '../../config/provider-names';

/** Each provider's description in the schema: a provider added to PROVIDER_NAMES needs one. */
const DESCRIPTIONS: Record<ProviderName, string> = {
  OPEN_AI: 'OpenAI.',
  ANTHROPIC: "Anthropic's Claude models, through the Messages API.",
  GEMINI: "Google's Gemini models, through the Gemini API.",
  OLLAMA: 'An Ollama server, through its OpenAI-compatible API.',
  OPENAI_COMPATIBLE: "Any server that speaks OpenAI's chat API (OpenRouter, vLLM, LiteLLM …).",
  ECHO: 'A built-in model that streams a reply derived from the prompt.',
};

/** The GraphQL enum LlmProvider, derived from PROVIDER_NAMES (value and name alike). */
export const LlmProvider = Object.fromEntries(PROVIDER_NAMES.map((name) => [name, name])) as {
  readonly [Name in ProviderName]: Name;
};
export type LlmProvider = ProviderName;

registerEnumType(LlmProvider, {
  name: 'LlmProvider',
  description: 'A family of language models the server can call.',
  valuesConfig: Object.fromEntries(
    PROVIDER_NAMES.map((name) => [name, { description: DESCRIPTIONS[name] }]),
  ),
});
