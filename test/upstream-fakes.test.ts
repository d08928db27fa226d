/**
 * The fake upstreams speak each provider's own wire protocol: here the official SDKs
 * (@anthropic-ai/sdk, @google/genai, openai) read them, so a model client tested against a
 * fake runs the same parsing path it runs in production, faults included.
 */
import Anthropic from '@anthropic-ai/sdk';
import {
  ApiError,
  FinishReason,
  GoogleGenAI,
  type GenerateContentResponse,
  type HttpRetryOptions,
} from '@google/genai';
import OpenAI from 'openai';
import { FakeAnthropic } from './helpers/fake-anthropic';
import { FakeGemini } from './helpers/fake-gemini';
import { FakeOpenAi } from './helpers/fake-openai';

/** What a promise rejected with (fails the test when it resolved). */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Resolves once the fake saw the connection close. */
async function closed(record: { closedAt?: number }, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (record.closedAt === undefined) {
    if (Date.now() > deadline) throw new Error('the request was never closed');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function last<T>(requests: T[]): T {
  return requests[requests.length - 1]!;
}

describe('FakeAnthropic, as @anthropic-ai/sdk reads it', () => {
  let fake: FakeAnthropic;
  let client: Anthropic;
  const params = {
    model: 'claude-fake-1',
    max_tokens: 2048,
    messages: [{ role: 'user' as const, content: 'What is the weather in Paris?' }],
  };

  beforeAll(async () => {
    fake = await FakeAnthropic.start();
    client = new Anthropic({ apiKey: 'test-key', baseURL: fake.baseUrl, maxRetries: 0 });
  });
  afterAll(() => fake.stop());

  it('should assemble thinking, text and a tool call into the final message', async () => {
    fake.enqueue({
      thinking: ['The user wants ', 'the weather.'],
      signature: 'c2lnbmVk',
      text: ['Let me ', 'check — ', 'un instant.'],
      toolUses: [{ id: 'toolu_1', name: 'get_weather', input: { city: 'Paris', unit: 'celsius' } }],
      usage: { input_tokens: 40, output_tokens: 21 },
    });
    const stream = client.messages.stream({
      ...params,
      system: 'Be brief.',
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: [
        {
          name: 'get_weather',
          description: 'The weather in a city',
          input_schema: { type: 'object', properties: { city: { type: 'string' } } },
        },
      ],
    });
    const text: string[] = [];
    const thinking: string[] = [];
    stream.on('text', (delta) => text.push(delta));
    stream.on('thinking', (delta) => thinking.push(delta));
    const message = await stream.finalMessage();

    expect(thinking).toEqual(['The user wants ', 'the weather.']);
    expect(text.join('')).toBe('Let me check — un instant.');
    expect(message.content.map((block) => block.type)).toEqual(['thinking', 'text', 'tool_use']);
    expect(message.content[0]).toMatchObject({
      thinking: 'The user wants the weather.',
      signature: 'c2lnbmVk',
    });
    expect(message.content[2]).toMatchObject({
      id: 'toolu_1',
      name: 'get_weather',
      input: { city: 'Paris', unit: 'celsius' },
    });
    expect(message.stop_reason).toBe('tool_use');
    expect(message.usage).toMatchObject({ input_tokens: 40, output_tokens: 21 });

    const request = last(fake.requests);
    expect(request.path).toBe('/v1/messages');
    // SDK 1.x speaks API version 2026-10-21 and sends the key as a bearer token, not x-api-key.
    expect(request.headers.authorization).toBe('Bearer test-key');
    expect(request.headers['anthropic-version']).toBe('2026-10-21');
    expect(request.body).toMatchObject({
      stream: true,
      system: 'Be brief.',
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: [{ name: 'get_weather' }],
      messages: params.messages,
    });
  });

  it('should send the documented event sequence, pings left out by the SDK', async () => {
    fake.enqueue({ text: ['cut ', 'short'], stopReason: 'max_tokens' });
    const stream = await client.messages.create({ ...params, stream: true });
    const events: Anthropic.RawMessageStreamEvent[] = [];
    for await (const event of stream) events.push(event);

    expect(events.map((event) => event.type)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[0]).toMatchObject({ message: { usage: { input_tokens: 12 } } });
    expect(events[5]).toMatchObject({
      delta: { stop_reason: 'max_tokens' },
      usage: { output_tokens: 5 },
    });
  });

  it('should leave thinking out when the request does not turn it on', async () => {
    fake.enqueue({ thinking: ['hidden'], text: ['plain'] });
    const message = await client.messages.stream(params).finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: 'plain', citations: null }]);
    expect(message.stop_reason).toBe('end_turn');
  });

  it('should keep pinging through a stall, until the client leaves', async () => {
    fake.enqueue({ text: ['slow', 'ly'], stallAfterChunks: 1, pingEveryMs: 10 });
    const response = await client.messages.create({ ...params, stream: true }).asResponse();
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let raw = '';
    const pingsAfterText = () => raw.split('"text_delta"')[1]?.match(/^event: ping$/gm)?.length;
    while ((pingsAfterText() ?? 0) < 3) {
      const { done, value } = await reader.read();
      if (done) throw new Error('the stream ended');
      raw += value;
    }
    expect(raw).not.toContain('event: message_stop');
    await reader.cancel();
    const request = last(fake.requests);
    await closed(request);
    expect(request.closedEarly).toBe(true);
  });

  it('should answer a non-streaming call with one Message', async () => {
    const message = await client.messages.create({ ...params, max_tokens: 20 });
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-fake-1',
      content: [{ type: 'text', text: 'A Fine Title' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 5, output_tokens: 3 },
    });
  });

  it.each([
    [500, Anthropic.InternalServerError, 'api_error'],
    [429, Anthropic.RateLimitError, 'rate_limit_error'],
    [529, Anthropic.OverloadedError, 'overloaded_error'],
  ])('should surface a %i as the SDK error class with its status', async (status, type, kind) => {
    fake.enqueue({ status });
    const before = fake.requests.length;
    const error = await rejectionOf(client.messages.create({ ...params, stream: true }));
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ status, type: kind });
    expect(fake.requests.length).toBe(before + 1); // maxRetries: 0
  });

  it('should reject with the error event sent mid-stream, after the text before it', async () => {
    fake.enqueue({ text: ['partial', ' answer'], errorAfterChunks: { after: 1 } });
    const stream = client.messages.stream(params);
    const text: string[] = [];
    stream.on('text', (delta) => text.push(delta));
    const error = await rejectionOf(stream.finalMessage());
    expect(text).toEqual(['partial']);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect(error).toMatchObject({ status: undefined, type: 'overloaded_error' });
  });

  it('should reject a stream dropped mid-way, and not send it again even with retries on', async () => {
    const retrying = new Anthropic({ apiKey: 'test-key', baseURL: fake.baseUrl });
    expect(retrying.maxRetries).toBe(2);
    fake.enqueue({ text: ['one ', 'two ', 'three'], dropAfterChunks: 2 });
    const before = fake.requests.length;
    const stream = retrying.messages.stream(params);
    const text: string[] = [];
    stream.on('text', (delta) => text.push(delta));
    const error = await rejectionOf(stream.finalMessage());
    expect(text.join('')).toBe('one two ');
    expect(error).toBeInstanceOf(Anthropic.APIConnectionError);
    expect(fake.requests.length).toBe(before + 1);
  });

  it('should retry a refused request on its own unless maxRetries is 0', async () => {
    const retrying = new Anthropic({ apiKey: 'test-key', baseURL: fake.baseUrl });
    fake.enqueue({ status: 529 });
    const before = fake.requests.length;
    const message = await retrying.messages.stream(params).finalMessage();
    expect(message.content).toMatchObject([{ text: 'Hello from the fake model.' }]);
    expect(fake.requests.length).toBe(before + 2);
  });

  it('should close the request on the fake when the caller aborts', async () => {
    fake.enqueue({ text: ['never ', 'finished'], stallAfterChunks: 1 });
    const controller = new AbortController();
    const stream = client.messages.stream(params, { signal: controller.signal });
    await new Promise<void>((resolve) => stream.once('text', () => resolve()));
    const request = last(fake.requests);
    controller.abort();
    expect(await rejectionOf(stream.finalMessage())).toBeInstanceOf(Anthropic.APIUserAbortError);
    await closed(request);
    expect(request.closedEarly).toBe(true);
  });

  it('should end a raw stream quietly when the caller aborts it', async () => {
    fake.enqueue({ text: ['never ', 'finished'], stallAfterChunks: 1 });
    const controller = new AbortController();
    const stream = await client.messages.create(
      { ...params, stream: true },
      { signal: controller.signal },
    );
    const types: string[] = [];
    // The SDK's Stream swallows its own AbortError: the loop just ends, so a caller that
    // iterates create({stream: true}) must look at the signal to tell a stop from an end.
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'content_block_delta') controller.abort();
    }
    expect(types.at(-1)).toBe('content_block_delta');
    const request = last(fake.requests);
    await closed(request);
    expect(request.closedEarly).toBe(true);
  });

  it('should read events cut anywhere, inside a UTF-8 character too', async () => {
    fake.enqueue({ text: ['Ça ', 'va — ', 'très 👍'], writeInPiecesOf: 3 });
    const message = await client.messages.stream(params).finalMessage();
    expect(message.content).toMatchObject([{ text: 'Ça va — très 👍' }]);
  });

  it('should reject a stream that turns into garbage', async () => {
    fake.enqueue({
      text: ['fine', 'then'],
      rawAfterChunks: { after: 1, text: 'event: content_block_delta\ndata: {not json\n\n' },
    });
    const error = await rejectionOf(client.messages.stream(params).finalMessage());
    expect(error).toBeInstanceOf(Anthropic.AnthropicError);
    expect(error).toMatchObject({ message: expect.stringMatching(/JSON/) });
  });

  it('should time out a hanging request after the client timeout', async () => {
    fake.enqueue({ hang: true });
    const error = await rejectionOf(
      client.messages.create({ ...params, stream: true }, { timeout: 100 }),
    );
    expect(error).toBeInstanceOf(Anthropic.APIConnectionTimeoutError);
    await closed(last(fake.requests));
  });

  it('should refuse what the API refuses before any model work', async () => {
    const post = (headers: Record<string, string>, body: object) =>
      fetch(`${fake.baseUrl}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const noKey = await post({ 'anthropic-version': '2023-06-01' }, params);
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toMatchObject({
      type: 'error',
      error: { type: 'authentication_error' },
    });
    const noVersion = await post({ 'x-api-key': 'k' }, params);
    expect(noVersion.status).toBe(400);
    const { max_tokens: _omitted, ...withoutMax } = params;
    const noMax = await post({ 'x-api-key': 'k', 'anthropic-version': '2023-06-01' }, withoutMax);
    expect(await noMax.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });
});

describe('FakeGemini, as @google/genai reads it', () => {
  let fake: FakeGemini;
  let ai: GoogleGenAI;
  const params = {
    model: 'gemini-fake-1',
    contents: [{ role: 'user', parts: [{ text: 'What is the weather in Paris?' }] }],
  };

  /** Every part of every chunk, in order. */
  const partsOf = (chunks: GenerateContentResponse[]) =>
    chunks.flatMap((chunk) => chunk.candidates?.[0]?.content?.parts ?? []);

  async function collect(stream: AsyncGenerator<GenerateContentResponse>) {
    const chunks: GenerateContentResponse[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    return chunks;
  }

  /**
   * A client of the fake. Under jest it needs a `fetch` of its own: without one, the SDK hands
   * fetch an undici dispatcher it finds through a symbol on globalThis, which Node sets on its
   * own global but not on the one jest gives each test file ("Undici globalDispatcher is not
   * available"). Node's global fetch, given explicitly, skips that path.
   */
  const geminiClient = (options: { apiVersion?: string; retryOptions?: HttpRetryOptions } = {}) =>
    new GoogleGenAI({
      apiKey: 'test-key',
      apiVersion: options.apiVersion,
      httpOptions: { baseUrl: fake.baseUrl, fetch, retryOptions: options.retryOptions },
    });

  beforeAll(async () => {
    fake = await FakeGemini.start();
    ai = geminiClient();
  });
  afterAll(() => fake.stop());

  it('should stream thoughts, text and a function call, then the finish and usage', async () => {
    fake.enqueue({
      thoughts: ['Considering ', 'the city.'],
      text: ['Let me ', 'check — ', 'un instant.'],
      functionCalls: [{ id: 'call-1', name: 'get_weather', args: { city: 'Paris' } }],
      usage: { promptTokenCount: 30, candidatesTokenCount: 9, thoughtsTokenCount: 14 },
    });
    const chunks = await collect(
      await ai.models.generateContentStream({
        ...params,
        config: {
          systemInstruction: 'Be brief.',
          thinkingConfig: { includeThoughts: true, thinkingBudget: 1024 },
          tools: [
            {
              functionDeclarations: [
                {
                  name: 'get_weather',
                  parametersJsonSchema: {
                    type: 'object',
                    properties: { city: { type: 'string' } },
                  },
                },
              ],
            },
          ],
        },
      }),
    );
    const parts = partsOf(chunks);
    const thoughts = parts.filter((part) => part.thought).map((part) => part.text);
    const text = parts.filter((part) => !part.thought && part.text !== undefined);
    expect(thoughts).toEqual(['Considering ', 'the city.']);
    expect(text.map((part) => part.text).join('')).toBe('Let me check — un instant.');
    const call = parts.find((part) => part.functionCall);
    expect(call?.functionCall).toEqual({
      id: 'call-1',
      name: 'get_weather',
      args: { city: 'Paris' },
    });
    expect(call?.thoughtSignature).toEqual(expect.any(String));

    const final = last(chunks);
    expect(final.candidates?.[0]?.finishReason).toBe(FinishReason.STOP);
    expect(final.functionCalls).toEqual([call?.functionCall]);
    expect(final.usageMetadata).toMatchObject({
      promptTokenCount: 30,
      candidatesTokenCount: 9,
      thoughtsTokenCount: 14,
      totalTokenCount: 53,
    });
    // Earlier chunks carry the usage so far: a client takes the last, never a sum.
    expect(chunks[0]!.usageMetadata).toMatchObject({ promptTokenCount: 30, totalTokenCount: 30 });
    expect(chunks[0]!.usageMetadata?.candidatesTokenCount).toBeUndefined();

    const request = last(fake.requests);
    expect(request.path).toBe('/v1/models/gemini-fake-1:streamGenerateContent?alt=sse');
    expect(request.headers['x-goog-api-key']).toBe('test-key');
    expect(request.body).toMatchObject({
      contents: params.contents,
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      generationConfig: { thinkingConfig: { includeThoughts: true, thinkingBudget: 1024 } },
      tools: [{ functionDeclarations: [{ name: 'get_weather' }] }],
    });
  });

  it('should leave thoughts out unless the request asks, at any API version', async () => {
    const beta = geminiClient({ apiVersion: 'v1beta' });
    fake.enqueue({ thoughts: ['hidden'], text: ['plain'], finishReason: 'MAX_TOKENS' });
    const chunks = await collect(await beta.models.generateContentStream(params));
    expect(partsOf(chunks)).toEqual([{ text: 'plain' }]);
    expect(last(chunks).candidates?.[0]?.finishReason).toBe(FinishReason.MAX_TOKENS);
    expect(last(fake.requests).path).toBe(
      '/v1beta/models/gemini-fake-1:streamGenerateContent?alt=sse',
    );
  });

  it('should answer a non-streaming call with one response', async () => {
    const response = await ai.models.generateContent(params);
    expect(response.text).toBe('A Fine Title');
    expect(response.candidates?.[0]?.finishReason).toBe(FinishReason.STOP);
    expect(response.usageMetadata).toMatchObject({ promptTokenCount: 5, totalTokenCount: 8 });
    expect(last(fake.requests).path).toBe('/v1/models/gemini-fake-1:generateContent');
  });

  it('should hand over a blocked prompt as promptFeedback with no candidates', async () => {
    fake.enqueue({ blockReason: 'SAFETY' });
    const chunks = await collect(await ai.models.generateContentStream(params));
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.candidates).toBeUndefined();
    expect(chunks[0]!.promptFeedback?.blockReason).toBe('SAFETY');
  });

  it.each([500, 429, 400])(
    'should surface a %i as ApiError with its status, and not retry by default',
    async (status) => {
      fake.enqueue({ status });
      const before = fake.requests.length;
      const error = await rejectionOf(ai.models.generateContentStream(params));
      expect(error).toBeInstanceOf(ApiError);
      expect(error).toMatchObject({ status });
      expect(fake.requests.length).toBe(before + 1);
    },
  );

  it('should retry a refused request when given retryOptions', async () => {
    const retrying = geminiClient({ retryOptions: { attempts: 2, initialDelay: 0.01 } });
    fake.enqueue({ status: 503 });
    const before = fake.requests.length;
    const chunks = await collect(await retrying.models.generateContentStream(params));
    expect(
      partsOf(chunks)
        .map((part) => part.text)
        .join(''),
    ).toBe('Hello from the fake model.');
    expect(fake.requests.length).toBe(before + 2);
  });

  it('should reject with the error chunk sent mid-stream, after the text before it', async () => {
    fake.enqueue({ text: ['partial', ' answer'], errorAfterChunks: { after: 1, code: 503 } });
    const stream = await ai.models.generateContentStream(params);
    const chunks: GenerateContentResponse[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const chunk of stream) chunks.push(chunk);
      })(),
    );
    expect(partsOf(chunks)).toEqual([{ text: 'partial' }]);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 503 });
  });

  it.each([0, 2])(
    'should reject a stream dropped after %i chunks, and not send it again',
    async (after) => {
      fake.enqueue({ text: ['one ', 'two ', 'three'], dropAfterChunks: after });
      const before = fake.requests.length;
      const stream = await ai.models.generateContentStream(params);
      const chunks: GenerateContentResponse[] = [];
      const error = await rejectionOf(
        (async () => {
          for await (const chunk of stream) chunks.push(chunk);
        })(),
      );
      // fetch's own error, unwrapped (from Node's realm, so not instanceof Error under jest).
      expect(error).toMatchObject({ name: 'TypeError', message: 'terminated' });
      expect(chunks).toHaveLength(after);
      expect(fake.requests.length).toBe(before + 1);
    },
  );

  it('should read chunks cut anywhere, inside a UTF-8 character too', async () => {
    fake.enqueue({ text: ['Ça ', 'va — ', 'très 👍'], writeInPiecesOf: 3 });
    const chunks = await collect(await ai.models.generateContentStream(params));
    expect(
      partsOf(chunks)
        .map((part) => part.text)
        .join(''),
    ).toBe('Ça va — très 👍');
  });

  it('should time out a hanging request after httpOptions.timeout', async () => {
    fake.enqueue({ hang: true });
    const error = await rejectionOf(
      ai.models.generateContentStream({ ...params, config: { httpOptions: { timeout: 100 } } }),
    );
    // fetch's AbortError; under jest the SDK wraps it ('exception AbortError: … sending
    // request'), as it wraps anything that is not instanceof Error in its own realm.
    expect(String(error)).toMatch(/AbortError/);
    await closed(last(fake.requests));
  });

  it('should cut a stream still running at httpOptions.timeout: it bounds the body too', async () => {
    fake.enqueue({ text: ['one ', 'two'], stallAfterChunks: 1 });
    const stream = await ai.models.generateContentStream({
      ...params,
      config: { httpOptions: { timeout: 200 } },
    });
    const chunks: GenerateContentResponse[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const chunk of stream) chunks.push(chunk);
      })(),
    );
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(partsOf(chunks)).toEqual([{ text: 'one ' }]);
    const request = last(fake.requests);
    await closed(request);
    expect(request.closedEarly).toBe(true);
  });

  it('should close the request on the fake when the caller aborts', async () => {
    fake.enqueue({ text: ['never ', 'finished'], stallAfterChunks: 1 });
    const controller = new AbortController();
    const stream = await ai.models.generateContentStream({
      ...params,
      config: { abortSignal: controller.signal },
    });
    const first = await stream.next();
    expect(first.value?.candidates?.[0]?.content?.parts).toEqual([{ text: 'never ' }]);
    const request = last(fake.requests);
    controller.abort();
    const error = await rejectionOf(stream.next());
    expect(error).toMatchObject({ name: 'AbortError' });
    await closed(request);
    expect(request.closedEarly).toBe(true);
  });
});

describe('FakeOpenAi tool calls and reasoning, as openai reads them', () => {
  let fake: FakeOpenAi;
  let client: OpenAI;
  const params = {
    model: 'gpt-fake',
    messages: [{ role: 'user' as const, content: 'What is the weather in Paris?' }],
  };

  beforeAll(async () => {
    fake = await FakeOpenAi.start();
    client = new OpenAI({ apiKey: 'test-key', baseURL: fake.baseUrl, maxRetries: 0 });
  });
  afterAll(() => fake.stop());

  /** The reasoning pieces of a raw stream, from whichever delta field carries them. */
  async function reasoningAndFinish(field: 'reasoning_content' | 'reasoning') {
    const stream = await client.chat.completions.create({ ...params, stream: true });
    const reasoning: string[] = [];
    const text: string[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      const delta = choice?.delta as Record<string, string | undefined> | undefined;
      if (delta?.[field]) reasoning.push(delta[field]);
      if (delta?.content) text.push(delta.content);
      finish = choice?.finish_reason ?? finish;
    }
    return { reasoning, text: text.join(''), finish };
  }

  it('should stream tool calls that the SDK assembles, finishing with tool_calls', async () => {
    fake.enqueue({
      chunks: ['Checking.'],
      toolCalls: [
        { id: 'call_1', name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } },
        { name: 'get_time', arguments: { zone: 'Europe/Paris' } },
      ],
    });
    const completion = await client.chat.completions
      .stream({
        ...params,
        tools: [
          { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } },
          { type: 'function', function: { name: 'get_time', parameters: { type: 'object' } } },
        ],
      })
      .finalChatCompletion();
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBe('Checking.');
    const calls = (choice.message.tool_calls ?? []).map((call) => ({
      id: call.id,
      name: call.type === 'function' ? call.function.name : null,
      args: call.type === 'function' ? JSON.parse(call.function.arguments) : null,
    }));
    expect(calls).toEqual([
      { id: 'call_1', name: 'get_weather', args: { city: 'Paris', unit: 'celsius' } },
      { id: 'call_fake_2', name: 'get_time', args: { zone: 'Europe/Paris' } },
    ]);
  });

  it('should stream reasoning in delta.reasoning_content before the text', async () => {
    fake.enqueue({ reasoning: ['Think', 'ing.'], chunks: ['Done.'] });
    expect(await reasoningAndFinish('reasoning_content')).toEqual({
      reasoning: ['Think', 'ing.'],
      text: 'Done.',
      finish: 'stop',
    });
  });

  it('should stream reasoning in delta.reasoning when asked, as OpenRouter does', async () => {
    fake.enqueue({ reasoning: ['Hm.'], reasoningField: 'reasoning', chunks: ['Yes.'] });
    expect(await reasoningAndFinish('reasoning')).toEqual({
      reasoning: ['Hm.'],
      text: 'Yes.',
      finish: 'stop',
    });
  });

  it('should count reasoning and tool-call deltas as chunks for the faults', async () => {
    fake.enqueue({
      reasoning: ['a'],
      chunks: ['b'],
      toolCalls: [{ name: 'f', arguments: { x: 1 }, argumentPieces: ['{"x"', ':1}'] }],
      stallAfterChunks: 4,
    });
    const stream = await client.chat.completions.create({ ...params, stream: true });
    const deltas: unknown[] = [];
    for await (const chunk of stream) {
      deltas.push(chunk.choices[0]?.delta);
      // The role chunk, then reasoning, text, the call's head and its first piece: 5.
      if (deltas.length === 5) break;
    }
    expect(deltas.slice(1)).toEqual([
      { reasoning_content: 'a' },
      { content: 'b' },
      {
        tool_calls: [
          { index: 0, id: 'call_fake_1', type: 'function', function: { name: 'f', arguments: '' } },
        ],
      },
      { tool_calls: [{ index: 0, function: { arguments: '{"x"' } }] },
    ]);
    await closed(last(fake.requests));
    expect(last(fake.requests).closedEarly).toBe(true);
  });
});
