import type { CompletionRequest, ModelClient, LlmRequest, ReplySink } from './model-client';

/** Pause between words: slow enough to watch a reply stream in the IDE, fast enough for tests. */
const DEFAULT_WORD_DELAY_MS = 25;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

/**
 * The built-in model: answers with a reply derived from the last prompt, word by word, so a
 * fresh checkout streams chat replies with no API key and no network.
 */
export class EchoModelClient implements ModelClient {
  /** It would only repeat the prompt. */
  readonly namesChats = false;
  constructor(private readonly wordDelayMs = DEFAULT_WORD_DELAY_MS) {}

  static replyTo(prompt: string): string {
    return `You said: ${prompt.trim()}`;
  }

  async stream(request: LlmRequest, sink: ReplySink): Promise<void> {
    const prompt = [...request.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    const reply = EchoModelClient.replyTo(prompt);
    const words = reply.split(/(?<=\s)/);
    for (const word of words) {
      await sleep(this.wordDelayMs, request.signal);
      sink.delta(word);
    }
    const promptTokens = request.messages.reduce((n, m) => n + m.content.split(/\s+/).length, 0);
    sink.usage({
      promptTokens,
      completionTokens: words.length,
      totalTokens: promptTokens + words.length,
    });
  }

  async complete(request: CompletionRequest): Promise<string> {
    const prompt = request.messages.find((m) => m.role === 'user')?.content ?? '';
    const title = prompt.slice(0, 40);
    const promptTokens = request.messages.reduce((n, m) => n + m.content.split(/\s+/).length, 0);
    const completionTokens = title.split(/\s+/).length;
    request.onUsage?.({
      promptTokens,
      completionTokens,
      totalTokens: promptTokens + completionTokens,
    });
    return title;
  }
}
