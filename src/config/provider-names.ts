/**
 * The providers a user picks from: the families of models this server can call. The one list
 * from which the environment schema (DEFAULT_LLM), the configuration, the GraphQL enum
 * LlmProvider and the table of model clients (llm/model-clients.ts) are derived, so that a new
 * protocol is added here first and the compiler points at every place that must handle it.
 */
export const PROVIDER_NAMES = [
  'OPEN_AI',
  'ANTHROPIC',
  'GEMINI',
  'OLLAMA',
  'OPENAI_COMPATIBLE',
  'ECHO',
] as const;

export type ProviderName = (typeof PROVIDER_NAMES)[number];
