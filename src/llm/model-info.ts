import type { ProviderName } from '../config/provider-names';

/** What one model can do, as `llmProviders` tells clients and as replies use it. */
export interface ModelInfo {
  id: string;
  /** Reads images. */
  vision: boolean;
  /** Calls tools: a reply then offers it the chat's tools. */
  tools: boolean;
  /** Thinks before answering, and gives its reasoning apart (asked of it when it can). */
  reasoning: boolean;
  /** The most tokens its context holds, when known. */
  contextTokens: number | null;
}

type Capabilities = Omit<ModelInfo, 'id'>;

/**
 * What the model families are known to do, by the model's name, first match wins: the
 * providers' own model pages (Anthropic's models overview, Gemini's models page, OpenAI's
 * model docs). A name none matches gets its provider's fallback, the last rule of each list.
 */
const RULES: Record<ProviderName, ReadonlyArray<readonly [RegExp, Capabilities]>> = {
  OPEN_AI: [
    [/^(o\d|gpt-5)/, { vision: true, tools: true, reasoning: true, contextTokens: 200_000 }],
    [/^gpt-4\.1/, { vision: true, tools: true, reasoning: false, contextTokens: 1_047_576 }],
    [/^gpt-4o/, { vision: true, tools: true, reasoning: false, contextTokens: 128_000 }],
    [/./, { vision: false, tools: true, reasoning: false, contextTokens: null }],
  ],
  ANTHROPIC: [
    [
      /^claude-(3-7-sonnet|sonnet-4|opus-4|haiku-4)/,
      { vision: true, tools: true, reasoning: true, contextTokens: 200_000 },
    ],
    [/./, { vision: true, tools: true, reasoning: false, contextTokens: 200_000 }],
  ],
  GEMINI: [
    [/^gemini-(2\.5|3)/, { vision: true, tools: true, reasoning: true, contextTokens: 1_048_576 }],
    [/./, { vision: true, tools: true, reasoning: false, contextTokens: 1_048_576 }],
  ],
  // Local and compatible servers run any model: reasoning is known by the families that
  // stream it apart (DeepSeek R1, QwQ, Qwen 3, gpt-oss); tools are offered, and a model that
  // cannot take them answers with an error the reply shows.
  OLLAMA: [
    [
      /(deepseek-r1|qwq|qwen3|gpt-oss|reason)/i,
      { vision: false, tools: true, reasoning: true, contextTokens: null },
    ],
    [/llava|vision|gemma3/i, { vision: true, tools: false, reasoning: false, contextTokens: null }],
    [/./, { vision: false, tools: true, reasoning: false, contextTokens: null }],
  ],
  OPENAI_COMPATIBLE: [
    [
      /(deepseek-r1|reasoner|qwq|qwen3|gpt-oss|reason)/i,
      { vision: false, tools: true, reasoning: true, contextTokens: null },
    ],
    [/./, { vision: false, tools: true, reasoning: false, contextTokens: null }],
  ],
  ECHO: [[/./, { vision: false, tools: false, reasoning: false, contextTokens: null }]],
};

export function modelInfoOf(llm: ProviderName, id: string): ModelInfo {
  const rule = RULES[llm].find(([pattern]) => pattern.test(id));
  return { id, ...(rule ? rule[1] : RULES[llm][RULES[llm].length - 1]![1]) };
}
