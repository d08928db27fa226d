import type { Config } from '../src/config/config';
import type { ProviderName } from '../src/config/provider-names';
import type { PromptMessage, ReplySink } from '../src/llm/model-client';
import { createModelClients, type ModelClients } from '../src/llm/model-clients';
import { FakeAnthropic } from './helpers/fake-anthropic';
import { FakeGemini } from './helpers/fake-gemini';
import { FakeOpenAi } from './helpers/fake-openai';
import { tinyGif, tinyJpeg, tinyPng, tinyWebp } from './helpers/sample-files';

/**
 * Images of a prompt reach each provider in its own form: every model client, made as the
 * app makes it (createModelClients), streams a conversation with a PNG on an earlier user
 * turn and a JPEG and a WebP on the last to the fake upstream of its protocol, which keeps
 * the request bodies it received.
 */

const PNG = tinyPng().toString('base64');
const JPEG = tinyJpeg().toString('base64');
const WEBP = tinyWebp().toString('base64');
const GIF = tinyGif().toString('base64');

const HISTORY: PromptMessage[] = [
  { role: 'system', content: 'Be brief.' },
  {
    role: 'user',
    content: 'What colour is this pixel?',
    images: [{ mediaType: 'image/png', data: PNG }],
  },
  // Handed an image by mistake: an assistant's turn is sent as its text only.
  { role: 'assistant', content: 'Red.', images: [{ mediaType: 'image/gif', data: GIF }] },
  {
    role: 'user',
    content: 'And these two?',
    images: [
      { mediaType: 'image/jpeg', data: JPEG },
      { mediaType: 'image/webp', data: WEBP },
    ],
  },
];

/** A user turn that is only an image. */
const IMAGE_ONLY: PromptMessage[] = [
  { role: 'user', content: '', images: [{ mediaType: 'image/gif', data: GIF }] },
];

const MODEL = 'vision-fake-1';

function textSink(): ReplySink & { text: string } {
  return {
    text: '',
    delta(text) {
      this.text += text;
    },
    reasoning: () => undefined,
    reasoningSignature: () => undefined,
    toolCall: () => undefined,
    usage: () => undefined,
  };
}

let openAi: FakeOpenAi;
let anthropic: FakeAnthropic;
let gemini: FakeGemini;
let clients: ModelClients;

beforeAll(async () => {
  [openAi, anthropic, gemini] = await Promise.all([
    FakeOpenAi.start(),
    FakeAnthropic.start(),
    FakeGemini.start(),
  ]);
  const llm: Config['llm'] = {
    providers: [
      { llm: 'OPEN_AI', baseUrl: openAi.baseUrl, apiKey: 'sk-test', models: [MODEL] },
      // As an Ollama user configures it: the base URL without /v1.
      { llm: 'OLLAMA', baseUrl: openAi.baseUrl.replace(/\/v1$/, ''), models: [MODEL] },
      { llm: 'OPENAI_COMPATIBLE', baseUrl: openAi.baseUrl, apiKey: 'sk-test', models: [MODEL] },
      { llm: 'ANTHROPIC', baseUrl: anthropic.baseUrl, apiKey: 'sk-ant-test', models: [MODEL] },
      { llm: 'GEMINI', baseUrl: gemini.baseUrl, apiKey: 'gemini-test', models: [MODEL] },
      { llm: 'ECHO', models: ['echo'] },
    ],
    defaultLlm: 'OPEN_AI',
    defaultChatModel: MODEL,
    streamCoalesceMs: 0,
    maxReplyTokens: 2048,
    maxReplyMs: 60_000,
  };
  clients = createModelClients(llm, { echoWordDelayMs: 0 });
});

afterAll(async () => {
  await Promise.all([openAi.stop(), anthropic.stop(), gemini.stop()]);
});

async function send(llm: ProviderName, messages: PromptMessage[]): Promise<string> {
  const sink = textSink();
  await clients[llm]!.stream(
    { model: llm === 'ECHO' ? 'echo' : MODEL, messages, signal: new AbortController().signal },
    sink,
  );
  return sink.text;
}

function last<T>(requests: T[]): T {
  return requests[requests.length - 1]!;
}

describe.each(['OPEN_AI', 'OLLAMA', 'OPENAI_COMPATIBLE'] as const)(
  '%s (OpenAI chat completions)',
  (llm) => {
    const dataUrl = (type: string, data: string) => ({
      type: 'image_url',
      image_url: { url: `data:${type};base64,${data}` },
    });

    it('should send each user turn as its text, then its images as data URLs, in order', async () => {
      await expect(send(llm, HISTORY)).resolves.toBe('Hello from the fake model.');
      const request = last(openAi.streamingRequests());
      expect(request.path).toBe('/v1/chat/completions');
      expect(request.body.messages).toEqual([
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What colour is this pixel?' },
            dataUrl('image/png', PNG),
          ],
        },
        { role: 'assistant', content: 'Red.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'And these two?' },
            dataUrl('image/jpeg', JPEG),
            dataUrl('image/webp', WEBP),
          ],
        },
      ]);
    });

    it('should send an image without text as the image alone', async () => {
      await send(llm, IMAGE_ONLY);
      expect(last(openAi.streamingRequests()).body.messages).toEqual([
        { role: 'user', content: [dataUrl('image/gif', GIF)] },
      ]);
    });
  },
);

describe('ANTHROPIC (Messages API)', () => {
  const block = (type: string, data: string) => ({
    type: 'image',
    source: { type: 'base64', media_type: type, data },
  });

  it('should send each user turn as image blocks, in order, then its text', async () => {
    await expect(send('ANTHROPIC', HISTORY)).resolves.toBe('Hello from the fake model.');
    const request = last(anthropic.streamingRequests());
    expect(request.body.system).toBe('Be brief.');
    expect(request.body.messages).toEqual([
      {
        role: 'user',
        content: [block('image/png', PNG), { type: 'text', text: 'What colour is this pixel?' }],
      },
      { role: 'assistant', content: [{ type: 'text', text: 'Red.' }] },
      {
        role: 'user',
        content: [
          block('image/jpeg', JPEG),
          block('image/webp', WEBP),
          { type: 'text', text: 'And these two?' },
        ],
      },
    ]);
  });

  it('should send an image without text as the image block alone', async () => {
    await send('ANTHROPIC', IMAGE_ONLY);
    expect(last(anthropic.streamingRequests()).body.messages).toEqual([
      { role: 'user', content: [block('image/gif', GIF)] },
    ]);
  });
});

describe('GEMINI (generateContent)', () => {
  const inline = (type: string, data: string) => ({ inlineData: { mimeType: type, data } });

  it('should send each user turn as inline data parts, in order, beside its text', async () => {
    await expect(send('GEMINI', HISTORY)).resolves.toBe('Hello from the fake model.');
    const request = last(gemini.streamingRequests());
    expect(request.body.systemInstruction?.parts).toEqual([{ text: 'Be brief.' }]);
    expect(request.body.contents).toEqual([
      {
        role: 'user',
        parts: [inline('image/png', PNG), { text: 'What colour is this pixel?' }],
      },
      { role: 'model', parts: [{ text: 'Red.' }] },
      {
        role: 'user',
        parts: [inline('image/jpeg', JPEG), inline('image/webp', WEBP), { text: 'And these two?' }],
      },
    ]);
  });

  it('should send an image without text as the inline data part alone', async () => {
    await send('GEMINI', IMAGE_ONLY);
    expect(last(gemini.streamingRequests()).body.contents).toEqual([
      { role: 'user', parts: [inline('image/gif', GIF)] },
    ]);
  });
});

describe('ECHO', () => {
  it('should answer the text of the last prompt, its images ignored', async () => {
    await expect(send('ECHO', HISTORY)).resolves.toBe('You said: And these two?');
  });
});
