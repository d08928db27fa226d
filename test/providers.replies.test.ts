import type { IncomingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { registerUser } from './helpers/accounts';
import { FakeAnthropic } from './helpers/fake-anthropic';
import { FakeGemini } from './helpers/fake-gemini';
import { FakeOpenAi } from './helpers/fake-openai';
import type { StreamFaults } from './helpers/fake-upstream';
import { TestApp } from './helpers/test-app';
import { Subscription } from './helpers/ws-client';

/**
 * Replies from ANTHROPIC, GEMINI and OPENAI_COMPATIBLE, each from a fake that speaks the
 * provider's own wire protocol, through the real app over HTTP and WebSocket: what a user sees
 * of a reply (deltas, reasoning, status, usage, errors) and what each provider is sent (the
 * reasoning it is asked for, the conversation in its own form).
 *
 * The documents are written here rather than in test/operations/: every response body and
 * WebSocket frame the tests receive is kept as raw text, and the last test looks for the
 * providers' API keys in all of it.
 */

type Llm = 'ANTHROPIC' | 'GEMINI' | 'OPENAI_COMPATIBLE';

/** Keys no response may ever carry: distinctive, so a leak anywhere is found by a plain search. */
const KEYS: Record<Llm, string> = {
  ANTHROPIC: 'sk-ant-api03-PALAVER-TEST-anthropic-key-9f3e1c',
  GEMINI: 'AIzaSy-PALAVER-TEST-gemini-key-7b2d4a',
  OPENAI_COMPATIBLE: 'sk-or-v1-PALAVER-TEST-compatible-key-5c8e0f',
};

/** Short, so the fault tests are quick; each stream fault is well inside them or well beyond. */
const FIRST_BYTE_MS = 500;
const IDLE_MS = 500;
/** Partial saves of replies being written, often enough to read one mid-stream. */
const SAVE_INTERVAL_MS = 100;

// ---------------------------------------------------------------------------------------------
// GraphQL, as raw text

const MESSAGE = `
  id content reasoning status error
  config { llm chatModel }
  usage { promptTokens completionTokens totalTokens }
  parts { type text toolCall { id name arguments status result error } }`;

const LLM_PROVIDERS = `query Providers {
  llmProviders { llm models defaultModel modelInfo { id vision tools reasoning contextTokens } }
}`;
const SEND_MESSAGE = `mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) {
    chat { id config { llm chatModel } }
    userMessage { id content }
    assistantMessage { ${MESSAGE} }
  }
}`;
const STOP_GENERATION = `mutation Stop($messageId: ID!) { stopGeneration(messageId: $messageId) { ${MESSAGE} } }`;
const CHAT = `query Chat($id: ID!) { chat(id: $id) { id messages { ${MESSAGE} } } }`;
const UPDATE_CHAT = `mutation UpdateChat($id: ID!, $input: UpdateChatInput!) {
  updateChat(id: $id, input: $input) { id config { llm chatModel } }
}`;
const MESSAGE_STREAM = `subscription Stream($messageId: ID!, $after: Int) {
  messageStream(messageId: $messageId, after: $after) {
    messageId seq delta reasoningDelta
    toolCall { id name arguments status result error }
    done
    message { ${MESSAGE} }
  }
}`;

interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

interface ReplyMessage {
  id: string;
  content: string;
  reasoning: string | null;
  status: string;
  error: string | null;
  config: { llm: string; chatModel: string } | null;
  usage: TokenUsage | null;
  parts: Array<{ type: string; text: string | null; toolCall: unknown }>;
}

interface StreamEvent {
  messageId: string;
  seq: number;
  delta: string;
  reasoningDelta: string;
  toolCall: unknown;
  done: boolean;
  message: ReplyMessage | null;
}

interface Sent {
  chat: { id: string; config: { llm: string; chatModel: string } };
  userMessage: { id: string; content: string };
  assistantMessage: ReplyMessage;
}

interface ModelInfo {
  id: string;
  vision: boolean;
  tools: boolean;
  reasoning: boolean;
  contextTokens: number | null;
}

interface GraphQLResult<TData> {
  data?: TData | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

/** Every HTTP response body and WebSocket frame the tests of this file received, as sent. */
const received: string[] = [];

async function graphql<TData>(
  app: TestApp,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GraphQLResult<TData>> {
  const response = await fetch(app.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  received.push(text);
  return JSON.parse(text) as GraphQLResult<TData>;
}

async function data<TData>(
  app: TestApp,
  query: string,
  variables: Record<string, unknown>,
  token?: string,
): Promise<TData> {
  const result = await graphql<TData>(app, query, variables, token);
  if (result.errors?.length || !result.data) {
    throw new Error(`GraphQL call failed: ${JSON.stringify(result.errors)}`);
  }
  return result.data;
}

/** The `ws` WebSocket, keeping each frame it receives as text before graphql-ws reads it. */
class RecordingWebSocket extends WebSocket {
  constructor(address: string | URL, protocols?: string | string[]) {
    super(address, protocols);
    this.on('message', (frame: WebSocket.RawData) => {
      const bytes = Array.isArray(frame)
        ? Buffer.concat(frame)
        : frame instanceof ArrayBuffer
          ? Buffer.from(frame)
          : frame;
      received.push(bytes.toString('utf8'));
    });
  }
}

/** A signed-in user of one app, with a socket of its own. */
interface Session {
  app: TestApp;
  token: string;
  socket: WsClient;
}

async function signIn(app: TestApp): Promise<Session> {
  const user = await registerUser(app);
  const token = user.auth.accessToken;
  const socket = createClient({
    url: app.wsUrl,
    webSocketImpl: RecordingWebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  return { app, token, socket };
}

interface SendInput {
  prompt: string;
  chatId?: string;
  config?: { llm: Llm; chatModel: string };
  systemInstructions?: string;
}

async function send(session: Session, input: SendInput): Promise<Sent> {
  const result = await data<{ sendMessage: Sent }>(
    session.app,
    SEND_MESSAGE,
    { input },
    session.token,
  );
  return result.sendMessage;
}

function follow(session: Session, messageId: string, after?: number) {
  return new Subscription<{ messageStream: StreamEvent }>(session.socket, MESSAGE_STREAM, {
    messageId,
    ...(after === undefined ? {} : { after }),
  });
}

function eventsOf(subscription: Subscription<{ messageStream: StreamEvent }>): StreamEvent[] {
  if (subscription.error) throw new Error(`stream failed: ${JSON.stringify(subscription.error)}`);
  return subscription.events.map((result) => {
    if (result.errors) throw new Error(`stream error: ${JSON.stringify(result.errors)}`);
    return result.data!.messageStream;
  });
}

/** Follows a reply (from `after`) until its done event. */
async function streamToEnd(
  session: Session,
  messageId: string,
  after?: number,
): Promise<StreamEvent[]> {
  const subscription = follow(session, messageId, after);
  await subscription.untilDone(15_000);
  return eventsOf(subscription);
}

const joined = (events: StreamEvent[], field: 'delta' | 'reasoningDelta') =>
  events.map((event) => event[field]).join('');

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

// ---------------------------------------------------------------------------------------------
// The providers, each through its fake

/** Token counts as a test means them; each provider reports them in its own fields. */
interface Usage {
  prompt: number;
  completion: number;
  /** Gemini reports thinking apart (thoughtsTokenCount); the others count it as completion. */
  thoughts?: number;
}

/** One reply of a fake, in the words every fake understands, mapped to each fake's own. */
interface Script extends StreamFaults {
  text?: string[];
  reasoning?: string[];
  /** Where an OpenAI-compatible server puts reasoning (the others have one place). */
  reasoningField?: 'reasoning_content' | 'reasoning';
  usage?: Usage;
}

/** A request a fake recorded (the same object: closedAt is set on it when it closes). */
interface UpstreamRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, any>;
  closedAt?: number;
  closedEarly?: boolean;
}

interface Provider {
  llm: Llm;
  /** Configured in this order (ANTHROPIC_MODELS …); the first is the provider's default. */
  models: ModelInfo[];
  reasoningModel: string;
  plainModel: string;
  /** How the fake streams reasoning, for the reasoning test (one row each). */
  reasoningVariants: Array<[string, Partial<Script>]>;
  enqueue(...scripts: Script[]): void;
  /** Its streaming requests, oldest first (title suggestions are not streamed). */
  streamed(): UpstreamRequest[];
  /** The model a request asked for. */
  modelOf(request: UpstreamRequest): string;
  /** The key a request carried, in the provider's header. */
  keyOf(request: UpstreamRequest): string | undefined;
  /** The usage a user is shown for what the fake reported. */
  shownUsage(usage: Usage): TokenUsage;
  /** Whether a request asks for reasoning; absent where the protocol has no such ask. */
  asksForReasoning?(request: UpstreamRequest): boolean;
  /** Queues a reply that fails mid-stream with an error whose text names the key. */
  enqueueErrorNaming(key: string): void;
  /** Queues the provider's own “busy, try again” error, sent after its 200, before any text. */
  enqueueOverloadedBeforeText(): void;
  /** Queues the provider's own way of refusing to answer at all (nothing but the refusal)… */
  enqueueRefusal(): void;
  /** …which is this, in its protocol's words. */
  refusal: string;
}

const fakes = {} as { anthropic: FakeAnthropic; gemini: FakeGemini; compatible: FakeOpenAi };

const plainSum = (usage: Usage): TokenUsage => ({
  promptTokens: usage.prompt,
  completionTokens: usage.completion,
  totalTokens: usage.prompt + usage.completion,
});

const ANTHROPIC: Provider = {
  llm: 'ANTHROPIC',
  models: [
    { id: 'claude-sonnet-4-5', vision: true, tools: true, reasoning: true, contextTokens: 200_000 },
    { id: 'claude-opus-4-1', vision: true, tools: true, reasoning: true, contextTokens: 200_000 },
    {
      id: 'claude-3-5-haiku-latest',
      vision: true,
      tools: true,
      reasoning: false,
      contextTokens: 200_000,
    },
  ],
  reasoningModel: 'claude-sonnet-4-5',
  plainModel: 'claude-3-5-haiku-latest',
  reasoningVariants: [['thinking blocks', {}]],
  enqueue: (...scripts) =>
    fakes.anthropic.enqueue(
      ...scripts.map(({ text, reasoning, usage, reasoningField: _field, ...faults }) => ({
        ...faults,
        text,
        thinking: reasoning,
        ...(usage
          ? { usage: { input_tokens: usage.prompt, output_tokens: usage.completion } }
          : {}),
      })),
    ),
  streamed: () => fakes.anthropic.streamingRequests(),
  modelOf: (request) => request.body.model,
  keyOf: (request) =>
    request.headers['x-api-key']?.toString() ??
    request.headers.authorization?.replace(/^Bearer /, ''),
  shownUsage: plainSum,
  asksForReasoning: (request) =>
    request.body.thinking !== undefined && request.body.thinking.type !== 'disabled',
  enqueueErrorNaming: (key) =>
    fakes.anthropic.enqueue({
      text: ['so far ', 'so good'],
      delayMs: 5,
      errorAfterChunks: {
        after: 1,
        type: 'authentication_error',
        message: `invalid x-api-key: ${key}`,
      },
    }),
  enqueueOverloadedBeforeText: () =>
    fakes.anthropic.enqueue({ text: ['never sent'], errorAfterChunks: { after: 0 } }),
  enqueueRefusal: () => fakes.anthropic.enqueue({ stopReason: 'refusal' }),
  refusal: 'stop_reason "refusal"',
};

const GEMINI: Provider = {
  llm: 'GEMINI',
  models: [
    {
      id: 'gemini-2.5-flash',
      vision: true,
      tools: true,
      reasoning: true,
      contextTokens: 1_048_576,
    },
    { id: 'gemini-2.5-pro', vision: true, tools: true, reasoning: true, contextTokens: 1_048_576 },
    {
      id: 'gemini-2.0-flash',
      vision: true,
      tools: true,
      reasoning: false,
      contextTokens: 1_048_576,
    },
  ],
  reasoningModel: 'gemini-2.5-flash',
  plainModel: 'gemini-2.0-flash',
  reasoningVariants: [['thought parts', {}]],
  enqueue: (...scripts) =>
    fakes.gemini.enqueue(
      ...scripts.map(({ text, reasoning, usage, reasoningField: _field, ...faults }) => ({
        ...faults,
        text,
        thoughts: reasoning,
        ...(usage
          ? {
              usage: {
                promptTokenCount: usage.prompt,
                candidatesTokenCount: usage.completion,
                ...(usage.thoughts ? { thoughtsTokenCount: usage.thoughts } : {}),
              },
            }
          : {}),
      })),
    ),
  streamed: () => fakes.gemini.streamingRequests(),
  modelOf: (request) => /\/models\/([^/:]+):/.exec(request.path)?.[1] ?? '',
  keyOf: (request) => request.headers['x-goog-api-key']?.toString(),
  // Gemini counts thinking apart; a user is shown it as part of the completion.
  shownUsage: (usage) => ({
    promptTokens: usage.prompt,
    completionTokens: usage.completion + (usage.thoughts ?? 0),
    totalTokens: usage.prompt + usage.completion + (usage.thoughts ?? 0),
  }),
  asksForReasoning: (request) =>
    request.body.generationConfig?.thinkingConfig?.includeThoughts === true,
  enqueueErrorNaming: (key) =>
    fakes.gemini.enqueue({
      text: ['so far ', 'so good'],
      delayMs: 5,
      errorAfterChunks: { after: 1, code: 400, message: `API key not valid: ${key}` },
    }),
  enqueueOverloadedBeforeText: () =>
    fakes.gemini.enqueue({
      text: ['never sent'],
      errorAfterChunks: { after: 0, code: 503, message: 'The model is overloaded.' },
    }),
  enqueueRefusal: () => fakes.gemini.enqueue({ blockReason: 'SAFETY' }),
  refusal: 'promptFeedback.blockReason "SAFETY"',
};

const OPENAI_COMPATIBLE: Provider = {
  llm: 'OPENAI_COMPATIBLE',
  models: [
    { id: 'deepseek-r1', vision: false, tools: true, reasoning: true, contextTokens: null },
    { id: 'deepseek-reasoner', vision: false, tools: true, reasoning: true, contextTokens: null },
    { id: 'qwen3-32b', vision: false, tools: true, reasoning: true, contextTokens: null },
    { id: 'gpt-oss-20b', vision: false, tools: true, reasoning: true, contextTokens: null },
    {
      id: 'llama-3.1-8b-instruct',
      vision: false,
      tools: true,
      reasoning: false,
      contextTokens: null,
    },
  ],
  reasoningModel: 'deepseek-r1',
  plainModel: 'llama-3.1-8b-instruct',
  reasoningVariants: [
    ['delta.reasoning_content (DeepSeek, vLLM)', { reasoningField: 'reasoning_content' }],
    ['delta.reasoning (OpenRouter, Ollama)', { reasoningField: 'reasoning' }],
  ],
  enqueue: (...scripts) =>
    fakes.compatible.enqueue(
      ...scripts.map(({ text, usage, ...rest }) => ({
        ...rest,
        chunks: text,
        ...(usage
          ? { usage: { prompt_tokens: usage.prompt, completion_tokens: usage.completion } }
          : {}),
      })),
    ),
  streamed: () => fakes.compatible.streamingRequests(),
  modelOf: (request) => request.body.model,
  keyOf: (request) => request.headers.authorization?.replace(/^Bearer /, ''),
  shownUsage: plainSum,
  enqueueErrorNaming: (key) =>
    fakes.compatible.enqueue({
      chunks: ['so far ', 'so good'],
      delayMs: 5,
      rawAfterChunks: {
        after: 1,
        text: `data: ${JSON.stringify({
          error: { message: `Incorrect API key provided: ${key}`, type: 'invalid_request_error' },
        })}\n\n`,
      },
    }),
  enqueueOverloadedBeforeText: () =>
    fakes.compatible.enqueue({
      chunks: ['never sent'],
      rawAfterChunks: {
        after: 0,
        text: `data: ${JSON.stringify({ error: { message: 'Overloaded', type: 'server_error', code: 503 } })}\n\n`,
      },
    }),
  enqueueRefusal: () => fakes.compatible.enqueue({ chunks: [], finishReason: 'content_filter' }),
  refusal: 'finish_reason "content_filter"',
};

const PROVIDERS = [ANTHROPIC, GEMINI, OPENAI_COMPATIBLE];

// ---------------------------------------------------------------------------------------------
// The apps: one that never retries (fault tests stay quick), one that retries once

let app: TestApp;
let retryingApp: TestApp;
let session: Session;
let retrying: Session;

beforeAll(async () => {
  [fakes.anthropic, fakes.gemini, fakes.compatible] = await Promise.all([
    FakeAnthropic.start(),
    FakeGemini.start(),
    FakeOpenAi.start(),
  ]);
  const env = {
    ANTHROPIC_API_KEY: KEYS.ANTHROPIC,
    ANTHROPIC_BASE_URL: fakes.anthropic.baseUrl,
    ANTHROPIC_MODELS: ANTHROPIC.models.map((model) => model.id).join(','),
    GEMINI_API_KEY: KEYS.GEMINI,
    GEMINI_BASE_URL: fakes.gemini.baseUrl,
    GEMINI_MODELS: GEMINI.models.map((model) => model.id).join(','),
    OPENAI_COMPATIBLE_BASE_URL: fakes.compatible.baseUrl,
    OPENAI_COMPATIBLE_API_KEY: KEYS.OPENAI_COMPATIBLE,
    OPENAI_COMPATIBLE_MODELS: OPENAI_COMPATIBLE.models.map((model) => model.id).join(','),
  };
  const timeouts = {
    firstByteTimeoutMs: FIRST_BYTE_MS,
    idleTimeoutMs: IDLE_MS,
    saveIntervalMs: SAVE_INTERVAL_MS,
  };
  [app, retryingApp] = await Promise.all([
    TestApp.start({ env, chat: { ...timeouts, retriesBeforeFirstToken: 0 } }),
    TestApp.start({ env, chat: { ...timeouts, retriesBeforeFirstToken: 1 } }),
  ]);
  [session, retrying] = await Promise.all([signIn(app), signIn(retryingApp)]);
});

// A test that failed before its replies were asked for must not hand them to the next one.
beforeEach(() => {
  fakes.anthropic.clearQueue();
  fakes.gemini.clearQueue();
  fakes.compatible.clearQueue();
});

afterAll(async () => {
  await Promise.all([session?.socket.dispose(), retrying?.socket.dispose()]);
  await Promise.all([app?.stop(), retryingApp?.stop()]);
  await Promise.all([fakes.anthropic?.stop(), fakes.gemini?.stop(), fakes.compatible?.stop()]);
});

/** Sends a prompt to one of the provider's models and follows its reply to the end. */
async function reply(
  provider: Provider,
  model: string,
  input: Omit<SendInput, 'config'>,
  on: Session = session,
) {
  const sent = await send(on, { ...input, config: { llm: provider.llm, chatModel: model } });
  const started = Date.now();
  const events = await streamToEnd(on, sent.assistantMessage.id);
  const done = events.at(-1)!;
  return { sent, events, done: done.message!, ms: Date.now() - started };
}

// ---------------------------------------------------------------------------------------------
// What every provider must do alike

function behavesLikeEveryProvider(provider: Provider) {
  const { llm } = provider;

  it(`should list ${llm} in llmProviders with its models and what each can do`, async () => {
    const { llmProviders } = await data<{
      llmProviders: Array<{ llm: string; models: string[]; defaultModel: string }>;
    }>(app, LLM_PROVIDERS, {});
    expect(llmProviders.find((entry) => entry.llm === llm)).toEqual({
      llm,
      models: provider.models.map((model) => model.id),
      defaultModel: provider.models[0]!.id,
      modelInfo: provider.models,
    });
  });

  it('should stream a reply whose deltas join into the saved content, seq 1..n, ending COMPLETE with the usage the provider reported', async () => {
    const before = provider.streamed().length;
    provider.enqueue({
      text: ['Paris ', 'is the ', 'capital ', 'of France.'],
      delayMs: 5,
      usage: { prompt: 31, completion: 7 },
    });
    const sent = await send(session, {
      prompt: 'What is the capital of France?',
      config: { llm, chatModel: provider.plainModel },
    });
    expect(sent.assistantMessage).toMatchObject({
      status: 'STREAMING',
      content: '',
      config: { llm, chatModel: provider.plainModel },
    });
    const events = await streamToEnd(session, sent.assistantMessage.id);

    expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((event) => event.done)).toEqual(
      events.map((_, i) => i === events.length - 1),
    );
    expect(events.every((event) => event.messageId === sent.assistantMessage.id)).toBe(true);
    expect(joined(events, 'delta')).toBe('Paris is the capital of France.');
    expect(joined(events, 'reasoningDelta')).toBe('');
    expect(events.at(-1)!.message).toEqual({
      id: sent.assistantMessage.id,
      content: 'Paris is the capital of France.',
      reasoning: null,
      status: 'COMPLETE',
      error: null,
      config: { llm, chatModel: provider.plainModel },
      usage: provider.shownUsage({ prompt: 31, completion: 7 }),
      parts: [{ type: 'TEXT', text: 'Paris is the capital of France.', toolCall: null }],
    });

    const requests = provider.streamed().slice(before);
    expect(requests).toHaveLength(1);
    expect(provider.modelOf(requests[0]!)).toBe(provider.plainModel);
    expect(provider.keyOf(requests[0]!)).toBe(KEYS[llm]);
    expect(requests[0]!.path).not.toContain(KEYS[llm]); // a key in a URL ends up in logs
  });

  it('should read events and UTF-8 characters that the network cuts anywhere, exactly', async () => {
    const text = ['Grüße ', '🌍🚀 ', 'naïve ', '日本語', ' done'];
    const reasoning = ['Überlegung: ', '🤔 ', '考える'];
    provider.enqueue({ reasoning, text, writeInPiecesOf: 3 });
    const { done } = await reply(provider, provider.reasoningModel, { prompt: 'Unicode?' });
    expect(done).toMatchObject({
      status: 'COMPLETE',
      content: text.join(''),
      reasoning: reasoning.join(''),
    });
  });

  it('should stream a reply that lasts longer than twice the first-byte timeout to its end', async () => {
    // The model clients give their SDKs a timeout of twice the first-byte one: it must bound
    // the wait for the answer to start, never the length of the answer.
    const words = Array.from({ length: 16 }, (_, i) => `w${i} `);
    provider.enqueue({ text: words, delayMs: 90 });
    const { done, ms } = await reply(provider, provider.plainModel, { prompt: 'Talk a while.' });
    expect(ms).toBeGreaterThan(2 * FIRST_BYTE_MS);
    expect(done).toMatchObject({ status: 'COMPLETE', content: words.join(''), error: null });
  });

  it.each(provider.reasoningVariants)(
    'should stream a reasoning model’s reasoning apart, before its answer, and replay it the same (%s)',
    async (_how, variant) => {
      const before = provider.streamed().length;
      provider.enqueue({
        ...variant,
        reasoning: ['The user asks ', 'for a number; ', 'say 42.'],
        text: ['The answer ', 'is 42.'],
        delayMs: 5,
        usage: { prompt: 20, completion: 9, thoughts: 21 },
      });
      const { sent, events, done } = await reply(provider, provider.reasoningModel, {
        prompt: 'What is the answer?',
      });
      const reasoning = 'The user asks for a number; say 42.';
      const answer = 'The answer is 42.';

      expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
      expect(joined(events, 'reasoningDelta')).toBe(reasoning);
      expect(joined(events, 'delta')).toBe(answer);
      expect(events.some((event) => event.delta !== '' && event.reasoningDelta !== '')).toBe(false);
      const lastThought = events.findLastIndex((event) => event.reasoningDelta !== '');
      const firstWord = events.findIndex((event) => event.delta !== '');
      expect(lastThought).toBeGreaterThanOrEqual(0);
      expect(lastThought).toBeLessThan(firstWord);
      expect(done).toMatchObject({
        status: 'COMPLETE',
        content: answer,
        reasoning,
        usage: provider.shownUsage({ prompt: 20, completion: 9, thoughts: 21 }),
        parts: [
          { type: 'REASONING', text: reasoning, toolCall: null },
          { type: 'TEXT', text: answer, toolCall: null },
        ],
      });

      // A client that comes back gets the same events, from the start or after any of them.
      expect(await streamToEnd(session, sent.assistantMessage.id)).toEqual(events);
      for (const { seq } of events.slice(0, -1)) {
        expect(await streamToEnd(session, sent.assistantMessage.id, seq)).toEqual(
          events.slice(seq),
        );
      }

      const [request] = provider.streamed().slice(before);
      expect(provider.modelOf(request!)).toBe(provider.reasoningModel);
      if (provider.asksForReasoning) expect(provider.asksForReasoning(request!)).toBe(true);
    },
  );

  if (provider.asksForReasoning) {
    const asks = provider.asksForReasoning;
    it('should not ask a model without reasoning for it, and show none', async () => {
      const before = provider.streamed().length;
      // The fake thinks only when asked, as the API does.
      provider.enqueue({ reasoning: ['unasked thoughts'], text: ['Just ', 'the answer.'] });
      const { events, done } = await reply(provider, provider.plainModel, { prompt: 'Quick one.' });
      const [request] = provider.streamed().slice(before);
      expect(asks(request!)).toBe(false);
      expect(joined(events, 'reasoningDelta')).toBe('');
      expect(done).toMatchObject({
        status: 'COMPLETE',
        content: 'Just the answer.',
        reasoning: null,
        parts: [{ type: 'TEXT', text: 'Just the answer.', toolCall: null }],
      });
    });
  }

  it.each<[string, Script, { content: string; error: RegExp; atLeastMs: number }]>([
    [
      'answers HTTP 500',
      { status: 500 },
      { content: '', error: /^The model failed \(HTTP 500\)\.$/, atLeastMs: 0 },
    ],
    [
      'drops the connection mid-stream',
      { text: ['partial ', 'answer ', 'never ', 'finished'], dropAfterChunks: 2, delayMs: 20 },
      {
        content: 'partial answer ',
        error: /^The model stream ended unexpectedly\.$/,
        atLeastMs: 0,
      },
    ],
    [
      'goes quiet mid-stream',
      { text: ['half ', 'a ', 'thought'], stallAfterChunks: 2, delayMs: 5 },
      { content: 'half a ', error: /^The model sent nothing for 0\.5 s\.$/, atLeastMs: IDLE_MS },
    ],
    [
      'never sends the first byte',
      { hang: true },
      { content: '', error: /^The model did not answer in time\.$/, atLeastMs: FIRST_BYTE_MS },
    ],
  ])(
    'should end FAILED with the text so far and a safe error when the upstream %s, trying once',
    async (_fault, script, expected) => {
      const before = provider.streamed().length;
      provider.enqueue(script);
      const { events, done, ms } = await reply(provider, provider.plainModel, {
        prompt: 'Tell me something.',
      });
      expect(done).toMatchObject({ status: 'FAILED', content: expected.content });
      expect(joined(events, 'delta')).toBe(expected.content);
      expect(done.error).toMatch(expected.error);
      // What the upstream said stays on the server: its body, its error types, the key.
      expect(done.error).not.toMatch(/fake upstream|api_error|INTERNAL|server_error/);
      expect(done.error).not.toContain(KEYS[llm]);
      expect(ms).toBeGreaterThanOrEqual(expected.atLeastMs - 50);
      // retriesBeforeFirstToken is 0 here; after the first token nothing is ever retried.
      const requests = provider.streamed().slice(before);
      expect(requests).toHaveLength(1);
      // The connection is not left open upstream.
      await waitFor(() => requests[0]!.closedAt !== undefined);
    },
  );

  it('should try once more after a 500 before the first token when retries are on, and complete', async () => {
    const before = provider.streamed().length;
    provider.enqueue({ status: 500 }, { text: ['second ', 'time ', 'lucky'] });
    const { done } = await reply(
      provider,
      provider.plainModel,
      { prompt: 'Are you there?' },
      retrying,
    );
    expect(done).toMatchObject({ status: 'COMPLETE', content: 'second time lucky', error: null });
    expect(provider.streamed().length - before).toBe(2);
  });

  it.each<[string, () => void]>([
    ['drops the connection', () => provider.enqueue({ text: ['never sent'], dropAfterChunks: 0 })],
    ['reports that it is overloaded', () => provider.enqueueOverloadedBeforeText()],
  ])(
    'should try once more when the upstream %s after its 200 but before any text, when retries are on',
    async (_how, enqueueFault) => {
      // Nothing was shown yet, so another try cannot show anything twice: this is what
      // retriesBeforeFirstToken is for (“only before anything streamed”).
      const before = provider.streamed().length;
      enqueueFault();
      provider.enqueue({ text: ['second ', 'time ', 'lucky'] });
      const { done, events } = await reply(
        provider,
        provider.plainModel,
        { prompt: 'Are you still there?' },
        retrying,
      );
      expect(done).toMatchObject({ status: 'COMPLETE', content: 'second time lucky', error: null });
      expect(joined(events, 'delta')).toBe('second time lucky');
      expect(provider.streamed().length - before).toBe(2);
    },
  );

  it(`should not pass a refusal to answer (${provider.refusal}) off as a COMPLETE empty reply`, async () => {
    provider.enqueueRefusal();
    const { done } = await reply(provider, provider.plainModel, { prompt: 'Something refused.' });
    expect(done.content).toBe('');
    // An empty COMPLETE reply tells the user nothing; FAILED is the status that carries why.
    expect(done.status).toBe('FAILED');
    expect(done.error).toBeTruthy();
  });

  it('should show a reply read while it is still being written with its reasoning so far', async () => {
    const thoughts = Array.from({ length: 50 }, (_, i) => `r${i} `);
    provider.enqueue({
      reasoning: thoughts,
      text: ['done'],
      delayMs: 20,
    });
    const sent = await send(session, {
      prompt: 'Think aloud.',
      config: { llm, chatModel: provider.reasoningModel },
    });
    // As a client reloading the chat would: read it until a partial save (every
    // SAVE_INTERVAL_MS here) has carried some reasoning.
    const readReply = async () => {
      const { chat } = await data<{ chat: { messages: ReplyMessage[] } }>(
        app,
        CHAT,
        { id: sent.chat.id },
        session.token,
      );
      return chat.messages.find((message) => message.id === sent.assistantMessage.id)!;
    };
    let saved = await readReply();
    const deadline = Date.now() + 1_000;
    while (!saved.reasoning && Date.now() < deadline) {
      await sleep(SAVE_INTERVAL_MS / 2);
      saved = await readReply();
    }
    expect(saved).toMatchObject({ status: 'STREAMING', content: '' });
    expect(saved.reasoning).toMatch(/^r0 /);
    expect(thoughts.join('').startsWith(saved.reasoning!)).toBe(true);
    expect(saved.parts).toEqual([{ type: 'REASONING', text: saved.reasoning, toolCall: null }]);
    const events = await streamToEnd(session, sent.assistantMessage.id);
    expect(events.at(-1)!.message).toMatchObject({ status: 'COMPLETE', content: 'done' });
  });

  it('should stop a reply mid-stream: STOPPED with the text so far, and the upstream request closed at once', async () => {
    provider.enqueue({ text: Array.from({ length: 200 }, (_, i) => `s${i} `), delayMs: 20 });
    const sent = await send(session, {
      prompt: 'Talk for a long time.',
      config: { llm, chatModel: provider.plainModel },
    });
    const subscription = follow(session, sent.assistantMessage.id);
    await subscription.waitForEvents(3);
    const stoppedAt = Date.now();
    const { stopGeneration } = await data<{ stopGeneration: ReplyMessage }>(
      app,
      STOP_GENERATION,
      { messageId: sent.assistantMessage.id },
      session.token,
    );
    expect(stopGeneration.status).toBe('STOPPED');
    expect(stopGeneration.content).toMatch(/^s0 s1 /);
    expect(stopGeneration.content.length).toBeLessThan(
      Array.from({ length: 200 }, (_, i) => `s${i} `).join('').length,
    );

    const request = provider.streamed().at(-1)!;
    await waitFor(() => request.closedAt !== undefined, 1_000);
    expect(request.closedEarly).toBe(true);
    expect(request.closedAt! - stoppedAt).toBeLessThan(1_000);

    await subscription.untilDone();
    const events = eventsOf(subscription);
    expect(events.at(-1)!.message).toMatchObject({
      status: 'STOPPED',
      content: stopGeneration.content,
    });
    expect(joined(events, 'delta')).toBe(stopGeneration.content);
  });

  it('should stop a reply that has not started, at once: STOPPED, and the upstream request closed', async () => {
    const before = provider.streamed().length;
    provider.enqueue({ hang: true });
    const sent = await send(session, {
      prompt: 'Take your time.',
      config: { llm, chatModel: provider.plainModel },
    });
    await waitFor(() => provider.streamed().length > before);
    const stoppedAt = Date.now();
    const { stopGeneration } = await data<{ stopGeneration: ReplyMessage }>(
      app,
      STOP_GENERATION,
      { messageId: sent.assistantMessage.id },
      session.token,
    );
    // Well before the first-byte timeout would have failed it.
    expect(Date.now() - stoppedAt).toBeLessThan(FIRST_BYTE_MS / 2);
    expect(stopGeneration).toMatchObject({ status: 'STOPPED', content: '', error: null });
    const request = provider.streamed().at(-1)!;
    await waitFor(() => request.closedAt !== undefined, 1_000);
    expect(request.closedEarly).toBe(true);
  });

  it('should stop a reply while the model is still reasoning: STOPPED, its reasoning so far kept', async () => {
    const thoughts = Array.from({ length: 200 }, (_, i) => `r${i} `);
    provider.enqueue({ reasoning: thoughts, text: ['never said'], delayMs: 20 });
    const sent = await send(session, {
      prompt: 'Think hard.',
      config: { llm, chatModel: provider.reasoningModel },
    });
    const subscription = follow(session, sent.assistantMessage.id);
    await subscription.waitForEvents(3);
    const { stopGeneration } = await data<{ stopGeneration: ReplyMessage }>(
      app,
      STOP_GENERATION,
      { messageId: sent.assistantMessage.id },
      session.token,
    );
    expect(stopGeneration).toMatchObject({ status: 'STOPPED', content: '' });
    expect(stopGeneration.reasoning).toMatch(/^r0 r1 /);
    expect(stopGeneration.parts).toEqual([
      { type: 'REASONING', text: stopGeneration.reasoning, toolCall: null },
    ]);
    await subscription.untilDone();
    const events = eventsOf(subscription);
    expect(joined(events, 'reasoningDelta')).toBe(stopGeneration.reasoning);
    expect(joined(events, 'delta')).toBe('');
  });

  it.each<[string, () => void, RegExp]>([
    [
      'refuses it with HTTP 401',
      () => provider.enqueue({ status: 401 }),
      /^The model refused the server credentials\.$/,
    ],
    [
      'names it in an error sent mid-stream',
      () => provider.enqueueErrorNaming(KEYS[llm]),
      /^The model/,
    ],
  ])(
    'should keep the API key out of the reply when the upstream %s',
    async (_how, enqueue, error) => {
      enqueue();
      const from = received.length;
      const { sent, done } = await reply(provider, provider.plainModel, { prompt: 'Hello?' });
      expect(done.status).toBe('FAILED');
      expect(done.error).toMatch(error);
      // Every body and frame since: the stream, and the chat's messages read again.
      await data(app, CHAT, { id: sent.chat.id }, session.token);
      const seen = received.slice(from).join('\n');
      expect(seen).toContain(done.error!);
      expect(seen).not.toContain(KEYS[llm]);
    },
  );
}

// ---------------------------------------------------------------------------------------------

const FIRST_TURN = {
  prompt: 'Name a red fruit.',
  reasoning: ['Red fruits: ', 'apple, cherry.'],
  answer: 'A cherry.',
};
const SECOND_PROMPT = 'And a yellow one?';
const SYSTEM = 'Answer in three words.';

/**
 * A chat of two prompts on `provider`: the first to its reasoning model (so there is reasoning
 * that must not go back as answer text), the second to its plain model. Returns the second
 * request.
 */
async function twoTurns(provider: Provider): Promise<UpstreamRequest> {
  provider.enqueue({ reasoning: FIRST_TURN.reasoning, text: [FIRST_TURN.answer] });
  const first = await reply(provider, provider.reasoningModel, {
    prompt: FIRST_TURN.prompt,
    systemInstructions: SYSTEM,
  });
  expect(first.done).toMatchObject({ status: 'COMPLETE', content: FIRST_TURN.answer });
  provider.enqueue({ text: ['A lemon.'] });
  const second = await reply(provider, provider.plainModel, {
    prompt: SECOND_PROMPT,
    chatId: first.sent.chat.id,
  });
  expect(second.done).toMatchObject({ status: 'COMPLETE', content: 'A lemon.' });
  const request = provider.streamed().at(-1)!;
  // The reasoning was the model's own thinking, not something it said.
  expect(JSON.stringify(request.body)).not.toContain('apple, cherry');
  return request;
}

/** A chat whose first reply failed with no text, then a second prompt: its request. */
async function afterAFailedReply(provider: Provider): Promise<UpstreamRequest> {
  provider.enqueue({ status: 500 });
  const first = await reply(provider, provider.plainModel, { prompt: 'Hello?' });
  expect(first.done).toMatchObject({ status: 'FAILED', content: '' });
  provider.enqueue({ text: ['Hi.'] });
  const second = await reply(provider, provider.plainModel, {
    prompt: 'Anyone there?',
    chatId: first.sent.chat.id,
  });
  expect(second.done.status).toBe('COMPLETE');
  return provider.streamed().at(-1)!;
}

describe('ANTHROPIC', () => {
  behavesLikeEveryProvider(ANTHROPIC);

  it('should ask a reasoning model for extended thinking within the Messages API bounds', async () => {
    const before = ANTHROPIC.streamed().length;
    ANTHROPIC.enqueue({ reasoning: ['Hmm.'], text: ['Yes.'] });
    await reply(ANTHROPIC, ANTHROPIC.reasoningModel, { prompt: 'Think first.' });
    const [request] = ANTHROPIC.streamed().slice(before);
    const { thinking, max_tokens } = request!.body;
    expect(thinking).toMatchObject({ type: 'enabled' });
    // Anthropic's floor is 1024, and the budget must stay below max_tokens.
    expect(thinking.budget_tokens).toBeGreaterThanOrEqual(1024);
    expect(thinking.budget_tokens).toBeLessThan(max_tokens);
  });

  it('should send the first exchange with the second prompt as Anthropic wants it: system apart, user and assistant turns alternating', async () => {
    const request = await twoTurns(ANTHROPIC);
    expect(request.body.system).toBe(SYSTEM);
    expect(request.body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: FIRST_TURN.prompt }] },
      { role: 'assistant', content: [{ type: 'text', text: FIRST_TURN.answer }] },
      { role: 'user', content: [{ type: 'text', text: SECOND_PROMPT }] },
    ]);
  });

  it('should keep the turns alternating when an earlier reply failed with no text', async () => {
    const request = await afterAFailedReply(ANTHROPIC);
    expect(request.body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Hello?' },
          { type: 'text', text: 'Anyone there?' },
        ],
      },
    ]);
  });

  it('should end FAILED with the text so far when Anthropic sends an overloaded error mid-stream', async () => {
    fakes.anthropic.enqueue({
      text: ['Some ', 'text ', 'then'],
      delayMs: 5,
      errorAfterChunks: { after: 2 },
    });
    const { done } = await reply(ANTHROPIC, ANTHROPIC.plainModel, { prompt: 'Busy?' });
    expect(done).toMatchObject({ status: 'FAILED', content: 'Some text ' });
    expect(done.error).not.toMatch(/Overloaded|overloaded_error/);
  });

  it('should end FAILED after the idle timeout when Anthropic only pings', async () => {
    // Pings say the connection is alive, not that the reply moves on.
    fakes.anthropic.enqueue({ text: ['one ', 'two'], stallAfterChunks: 1, pingEveryMs: 100 });
    const { done, ms } = await reply(ANTHROPIC, ANTHROPIC.plainModel, { prompt: 'Ping?' });
    expect(done).toMatchObject({
      status: 'FAILED',
      content: 'one ',
      error: 'The model sent nothing for 0.5 s.',
    });
    expect(ms).toBeGreaterThanOrEqual(IDLE_MS - 50);
  });
});

describe('GEMINI', () => {
  behavesLikeEveryProvider(GEMINI);

  it('should send the first exchange with the second prompt as Gemini wants it: contents of role user and model, the system instruction apart', async () => {
    const request = await twoTurns(GEMINI);
    expect(request.body.systemInstruction).toMatchObject({ parts: [{ text: SYSTEM }] });
    expect(request.body.contents).toEqual([
      { role: 'user', parts: [{ text: FIRST_TURN.prompt }] },
      { role: 'model', parts: [{ text: FIRST_TURN.answer }] },
      { role: 'user', parts: [{ text: SECOND_PROMPT }] },
    ]);
  });

  it('should keep the turns alternating when an earlier reply failed with no text', async () => {
    const request = await afterAFailedReply(GEMINI);
    expect(request.body.contents).toEqual([
      { role: 'user', parts: [{ text: 'Hello?' }, { text: 'Anyone there?' }] },
    ]);
  });
});

describe('OPENAI_COMPATIBLE', () => {
  behavesLikeEveryProvider(OPENAI_COMPATIBLE);

  it('should send the first exchange with the second prompt as OpenAI chat messages, the reasoning left out', async () => {
    const request = await twoTurns(OPENAI_COMPATIBLE);
    expect(request.body.messages).toEqual([
      { role: 'system', content: SYSTEM },
      { role: 'user', content: FIRST_TURN.prompt },
      { role: 'assistant', content: FIRST_TURN.answer },
      { role: 'user', content: SECOND_PROMPT },
    ]);
  });
});

describe('a chat that switches provider between turns', () => {
  it('should send the earlier turns to each new provider as plain text, whoever wrote them', async () => {
    // 1. Claude, thinking (its reply keeps a thinking signature only Anthropic can read).
    ANTHROPIC.enqueue({ reasoning: ['Cherries are red.'], text: ['A cherry.'] });
    const first = await reply(ANTHROPIC, ANTHROPIC.reasoningModel, { prompt: 'Red fruit?' });
    expect(first.done).toMatchObject({ status: 'COMPLETE', reasoning: 'Cherries are red.' });
    const chatId = first.sent.chat.id;

    // 2. Gemini, chosen for this prompt only.
    GEMINI.enqueue({ reasoning: ['Lemons are yellow.'], text: ['A lemon.'] });
    const second = await reply(GEMINI, GEMINI.reasoningModel, { prompt: 'Yellow?', chatId });
    expect(second.done).toMatchObject({
      status: 'COMPLETE',
      content: 'A lemon.',
      config: { llm: 'GEMINI', chatModel: GEMINI.reasoningModel },
    });
    const toGemini = GEMINI.streamed().at(-1)!;
    expect(toGemini.body.contents).toEqual([
      { role: 'user', parts: [{ text: 'Red fruit?' }] },
      { role: 'model', parts: [{ text: 'A cherry.' }] },
      { role: 'user', parts: [{ text: 'Yellow?' }] },
    ]);

    // 3. The chat's own model changed with updateChat; the next prompt names none.
    const { updateChat } = await data<{ updateChat: { config: { llm: string } } }>(
      app,
      UPDATE_CHAT,
      {
        id: chatId,
        input: { config: { llm: 'OPENAI_COMPATIBLE', chatModel: OPENAI_COMPATIBLE.plainModel } },
      },
      session.token,
    );
    expect(updateChat.config.llm).toBe('OPENAI_COMPATIBLE');
    OPENAI_COMPATIBLE.enqueue({ text: ['A lime.'] });
    const third = await send(session, { prompt: 'Green?', chatId });
    expect(third.assistantMessage.config).toEqual({
      llm: 'OPENAI_COMPATIBLE',
      chatModel: OPENAI_COMPATIBLE.plainModel,
    });
    const thirdEvents = await streamToEnd(session, third.assistantMessage.id);
    expect(thirdEvents.at(-1)!.message).toMatchObject({ status: 'COMPLETE', content: 'A lime.' });
    expect(OPENAI_COMPATIBLE.streamed().at(-1)!.body.messages).toEqual([
      { role: 'user', content: 'Red fruit?' },
      { role: 'assistant', content: 'A cherry.' },
      { role: 'user', content: 'Yellow?' },
      { role: 'assistant', content: 'A lemon.' },
      { role: 'user', content: 'Green?' },
    ]);

    // 4. Back to Claude: three earlier replies, none with a thinking block or signature.
    ANTHROPIC.enqueue({ text: ['A plum.'] });
    const fourth = await reply(ANTHROPIC, ANTHROPIC.plainModel, { prompt: 'Purple?', chatId });
    expect(fourth.done.status).toBe('COMPLETE');
    const toClaude = ANTHROPIC.streamed().at(-1)!;
    expect(toClaude.body.messages).toEqual(
      [
        ['user', 'Red fruit?'],
        ['assistant', 'A cherry.'],
        ['user', 'Yellow?'],
        ['assistant', 'A lemon.'],
        ['user', 'Green?'],
        ['assistant', 'A lime.'],
        ['user', 'Purple?'],
      ].map(([role, text]) => ({ role, content: [{ type: 'text', text }] })),
    );
    for (const request of [toGemini, toClaude]) {
      const body = JSON.stringify(request.body);
      expect(body).not.toMatch(/Cherries are red|Lemons are yellow|signature|thinking"/i);
    }
  });
});

describe('the API keys', () => {
  it('should appear in no GraphQL response body or WebSocket frame of this file', async () => {
    // A few more answers, refusals included, on top of everything the tests above received.
    await graphql(app, LLM_PROVIDERS);
    await graphql(app, SEND_MESSAGE, {
      input: { prompt: 'x', config: { llm: 'ANTHROPIC', chatModel: 'no-such-model' } },
    });
    await graphql(
      app,
      SEND_MESSAGE,
      { input: { prompt: 'x', config: { llm: 'GEMINI', chatModel: 'no-such-model' } } },
      session.token,
    );
    expect(received.length).toBeGreaterThan(20);
    const everything = received.join('\n');
    for (const provider of PROVIDERS) {
      expect(everything).not.toContain(KEYS[provider.llm]);
      // Not even a piece of one.
      expect(everything).not.toContain(KEYS[provider.llm].slice(-16));
    }
  });
});
