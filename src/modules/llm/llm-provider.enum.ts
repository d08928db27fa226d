import { registerEnumType } from 'type-graphql';

export enum LlmProvider {
  OPEN_AI = 'OPEN_AI',
  OLLAMA = 'OLLAMA',
  ECHO = 'ECHO',
}

registerEnumType(LlmProvider, {
  name: 'LlmProvider',
  description: 'A family of language models the server can call.',
  valuesConfig: {
    OPEN_AI: { description: 'OpenAI, or any server that speaks the OpenAI chat API.' },
    OLLAMA: { description: 'An Ollama server, through its OpenAI-compatible API.' },
    ECHO: { description: 'A built-in model that streams a reply derived from the prompt.' },
  },
});
