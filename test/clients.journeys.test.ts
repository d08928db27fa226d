import { createHash } from 'node:crypto';
import {
  ApolloClient,
  ApolloLink,
  CombinedGraphQLErrors,
  HttpLink,
  InMemoryCache,
  gql as apolloGql,
  split,
} from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import {
  Client as UrqlClient,
  cacheExchange,
  fetchExchange,
  gql as urqlGql,
  subscriptionExchange,
} from '@urql/core';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { registerUser, type TestUser } from './helpers/accounts';
import { TestApp } from './helpers/test-app';
import { codeAt, enrolledUser, wrongCode } from './helpers/two-factor';

/**
 * A frontend's whole journey through the real client packages, configured the way their docs
 * show, with documents written the way their docs write them (not test/operations/): sign in,
 * list chats, send a prompt, stream the reply, drop off and resume with `after`.
 */

interface StreamEvent {
  seq: number;
  delta: string;
  done: boolean;
  message: { id: string; status: string; content: string } | null;
}

const REPLY = ['Once', ' upon', ' a', ' time', ' there', ' was', ' a', ' stream', '.'];

/** An event of a reply that reasons and calls a tool, as the parts journeys select it. */
interface PartsEvent {
  seq: number;
  delta: string;
  reasoningDelta: string;
  done: boolean;
  toolCall: { id: string; name: string; status: string; result: string | null } | null;
  message: {
    content: string;
    reasoning: string | null;
    parts: Array<{
      type: string;
      text: string | null;
      toolCall: { id: string; status: string; result: string | null } | null;
    }>;
  } | null;
}

/** The fake model asks for the calculator, then reasons and answers from its result. */
function enqueueReasoningToolReply(app: TestApp): void {
  app.openai.enqueue({
    toolCalls: [{ id: 'calc-1', name: 'calculator', arguments: { expression: '6*7' } }],
  });
  app.openai.enqueue({ reasoning: ['The tool', ' says 42.'], chunks: ['It is', ' 42.'] });
}

/** What a client reads of that reply: each kind of event apart, and the same in the parts. */
function expectReasoningToolReply(events: PartsEvent[]): void {
  expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
  const calls = events.filter((event) => event.toolCall).map((event) => event.toolCall!);
  expect(calls.map((call) => [call.id, call.status, call.result])).toEqual([
    ['calc-1', 'RUNNING', null],
    ['calc-1', 'COMPLETE', '42'],
  ]);
  expect(events.map((event) => event.reasoningDelta).join('')).toBe('The tool says 42.');
  expect(events.map((event) => event.delta).join('')).toBe('It is 42.');
  // No event mixes kinds: reasoning never leaks into delta.
  for (const event of events) {
    expect(
      [event.delta, event.reasoningDelta, event.toolCall].filter(Boolean).length,
    ).toBeLessThanOrEqual(1);
  }
  const done = events.at(-1)!;
  expect(done.done).toBe(true);
  expect(done.message).toMatchObject({ content: 'It is 42.', reasoning: 'The tool says 42.' });
  expect(done.message!.parts.map((part) => part.type)).toEqual(['TOOL_CALL', 'REASONING', 'TEXT']);
  expect(done.message!.parts[0]!.toolCall).toMatchObject({
    id: 'calc-1',
    status: 'COMPLETE',
    result: '42',
  });
}

describe('client packages against Palaver', () => {
  let app: TestApp;
  let user: TestUser;
  const sockets: WsClient[] = [];
  beforeAll(async () => {
    // One delta per token, slow enough to drop off in the middle.
    app = await TestApp.start({ env: { STREAM_COALESCE_MS: '0' } });
    user = await registerUser(app);
  });
  afterAll(async () => {
    for (const socket of sockets) await socket.dispose();
    await app.stop();
  });

  /** graphql-ws as both libraries' docs set it up: the token in connectionParams. */
  const wsClient = (getToken: () => string) => {
    const client = createClient({
      url: app.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: () => ({ authorization: `Bearer ${getToken()}` }),
    });
    sockets.push(client);
    return client;
  };

  describe('Apollo Client 4 with GraphQLWsLink', () => {
    let token = '';
    let client: ApolloClient;
    beforeAll(() => {
      const auth = new SetContextLink((prevContext) => ({
        headers: { ...prevContext.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      }));
      const http = new HttpLink({ uri: app.url });
      const ws = new GraphQLWsLink(wsClient(() => token));
      client = new ApolloClient({
        cache: new InMemoryCache(),
        link: split(
          ({ query }) => {
            const definition = getMainDefinition(query);
            return (
              definition.kind === 'OperationDefinition' && definition.operation === 'subscription'
            );
          },
          ws,
          ApolloLink.from([auth, http]),
        ),
      });
    });

    const SIGN_IN = apolloGql`
      mutation SignIn($credentials: LoginInput!) {
        login(input: $credentials) {
          accessToken
          user { id email }
        }
      }
    `;
    const CHAT_LIST = apolloGql`
      query ChatList($first: Int) {
        chats(limit: $first) {
          totalCount
          nodes { id title updatedAt }
          pageInfo { hasNextPage endCursor }
        }
      }
    `;
    const ASK = apolloGql`
      mutation Ask($text: String!) {
        sendMessage(input: { prompt: $text }) {
          chat { id title }
          assistantMessage { id status }
        }
      }
    `;
    const REPLY_STREAM = apolloGql`
      subscription ReplyStream($replyId: ID!, $resumeAfter: Int) {
        messageStream(messageId: $replyId, after: $resumeAfter) {
          seq
          delta
          done
          message { id status content }
        }
      }
    `;

    const follow = (replyId: string, resumeAfter?: number, stopAfter?: number) =>
      new Promise<StreamEvent[]>((resolve, reject) => {
        const events: StreamEvent[] = [];
        const subscription = client
          .subscribe<{ messageStream: StreamEvent }>({
            query: REPLY_STREAM,
            variables: { replyId, resumeAfter },
          })
          .subscribe({
            next: (result) => {
              if (result.error) return reject(result.error);
              events.push(result.data!.messageStream);
              if (stopAfter !== undefined && events.length >= stopAfter) {
                subscription.unsubscribe(); // the user closes the tab
                resolve(events);
              }
            },
            error: reject,
            complete: () => resolve(events),
          });
      });

    it('should sign in, list chats, stream a reply, and resume it after dropping off', async () => {
      const signIn = await client.mutate<{
        login: { accessToken: string; user: { email: string } };
      }>({
        mutation: SIGN_IN,
        variables: { credentials: { email: user.email, password: user.password } },
      });
      expect(signIn.data!.login.user.email).toBe(user.email);
      token = signIn.data!.login.accessToken;

      app.openai.enqueue({ chunks: REPLY, delayMs: 40 });
      const asked = await client.mutate<{
        sendMessage: { chat: { id: string }; assistantMessage: { id: string; status: string } };
      }>({ mutation: ASK, variables: { text: 'Tell me a story' } });
      const replyId = asked.data!.sendMessage.assistantMessage.id;
      expect(asked.data!.sendMessage.assistantMessage.status).toBe('STREAMING');

      const list = await client.query<{
        chats: { totalCount: number; nodes: Array<{ id: string }> };
      }>({ query: CHAT_LIST, variables: { first: 10 } });
      expect(list.data!.chats.nodes.map((chat) => chat.id)).toContain(
        asked.data!.sendMessage.chat.id,
      );

      const firstPart = await follow(replyId, undefined, 3);
      const lastSeen = firstPart.at(-1)!.seq;
      const rest = await follow(replyId, lastSeen);
      expect(rest[0]!.seq).toBe(lastSeen + 1);
      const all = [...firstPart, ...rest];
      expect(all.map((event) => event.seq)).toEqual(all.map((_, i) => i + 1));
      const text = all
        .filter((event) => !event.done)
        .map((event) => event.delta)
        .join('');
      expect(text).toBe(REPLY.join(''));
      expect(rest.at(-1)).toMatchObject({
        done: true,
        message: { id: replyId, status: 'COMPLETE', content: REPLY.join('') },
      });
    });

    it('should sign in with a second factor: SECOND_FACTOR_REQUIRED, then verifySecondFactor', async () => {
      const guarded = await enrolledUser(app);
      const VERIFY = apolloGql`
        mutation Verify($input: SecondFactorInput!) {
          verifySecondFactor(input: $input) {
            accessToken
            user { id email twoFactorEnabled }
          }
        }
      `;
      const refusal = await client
        .mutate({
          mutation: SIGN_IN,
          variables: { credentials: { email: guarded.email, password: guarded.password } },
        })
        .then(
          () => null,
          (error: unknown) => error,
        );
      // What the frontend switches on: the code, then the challenge and methods it carries.
      expect(CombinedGraphQLErrors.is(refusal)).toBe(true);
      const [error] = (refusal as CombinedGraphQLErrors).errors;
      expect(error!.extensions!.code).toBe('SECOND_FACTOR_REQUIRED');
      expect(error!.extensions!.methods).toContain('TOTP');

      const wrong = await client
        .mutate({
          mutation: VERIFY,
          variables: {
            input: { challenge: error!.extensions!.challenge, totpCode: wrongCode(guarded.secret) },
          },
        })
        .then(
          () => null,
          (failure: unknown) => failure as CombinedGraphQLErrors,
        );
      expect(wrong!.errors[0]!.extensions).toMatchObject({
        code: 'INVALID_CREDENTIALS',
        attemptsLeft: 4,
      });

      const verified = await client.mutate<{
        verifySecondFactor: {
          accessToken: string;
          user: { email: string; twoFactorEnabled: boolean };
        };
      }>({
        mutation: VERIFY,
        variables: {
          input: { challenge: error!.extensions!.challenge, totpCode: codeAt(guarded.secret, 1) },
        },
      });
      expect(verified.data!.verifySecondFactor.user).toMatchObject({
        email: guarded.email,
        twoFactorEnabled: true,
      });
      expect(verified.data!.verifySecondFactor.accessToken).toEqual(expect.any(String));
    });

    it('should read a reply that reasons and calls a tool: reasoningDelta, toolCall and parts', async () => {
      const ASK_WITH_TOOLS = apolloGql`
        mutation AskWithTools($text: String!) {
          sendMessage(input: { prompt: $text, tools: ["calculator"] }) { assistantMessage { id } }
        }
      `;
      const PARTS = apolloGql`
        subscription ReplyParts($id: ID!) {
          messageStream(messageId: $id) {
            seq
            delta
            reasoningDelta
            done
            toolCall { id name status result }
            message {
              id
              content
              reasoning
              parts { type text toolCall { id name status result } }
            }
          }
        }
      `;
      enqueueReasoningToolReply(app);
      const asked = await client.mutate<{ sendMessage: { assistantMessage: { id: string } } }>({
        mutation: ASK_WITH_TOOLS,
        variables: { text: 'What is six times seven?' },
      });
      const id = asked.data!.sendMessage.assistantMessage.id;
      const events = await new Promise<PartsEvent[]>((resolve, reject) => {
        const seen: PartsEvent[] = [];
        client
          .subscribe<{ messageStream: PartsEvent }>({ query: PARTS, variables: { id } })
          .subscribe({
            next: (result) => {
              if (result.error) return reject(result.error);
              seen.push(result.data!.messageStream);
            },
            error: reject,
            complete: () => resolve(seen),
          });
      });
      expectReasoningToolReply(events);
    });

    it('should edit, regenerate, switch branches and share a link, with the cache kept right', async () => {
      const BRANCH = apolloGql`
        fragment Turn on Message { id parentId role content status siblingIds siblingIndex }
        query Branch($chatId: ID!) {
          chat(id: $chatId) { id messageCount messages { ...Turn } }
        }
      `;
      const EDIT = apolloGql`
        mutation Edit($id: ID!, $text: String!, $key: String) {
          editMessage(input: { messageId: $id, prompt: $text, clientMessageId: $key }) {
            userMessage { id parentId }
            assistantMessage { id status }
          }
        }
      `;
      const AGAIN = apolloGql`
        mutation Again($id: ID!) {
          regenerateReply(input: { messageId: $id }) { assistantMessage { id parentId } }
        }
      `;
      const SWITCH = apolloGql`
        mutation Switch($id: ID!) { switchBranch(messageId: $id) { id messageCount } }
      `;
      const SHARE = apolloGql`
        mutation Share($chatId: ID!) { shareChat(id: $chatId) { id token url } }
      `;
      const waitForEnd = async (replyId: string) => {
        const events = await follow(replyId);
        expect(events.at(-1)!.done).toBe(true);
      };
      const branchOf = async (chatId: string) =>
        (
          await client.query<{
            chat: {
              messageCount: number;
              messages: Array<{
                id: string;
                content: string;
                siblingIds: string[];
                siblingIndex: number;
              }>;
            };
          }>({ query: BRANCH, variables: { chatId }, fetchPolicy: 'network-only' })
        ).data!.chat;

      app.openai.enqueue({ chunks: ['first answer'] });
      const asked = await client.mutate<{
        sendMessage: { chat: { id: string }; assistantMessage: { id: string } };
      }>({ mutation: ASK, variables: { text: 'Branch me' } });
      const chatId = asked.data!.sendMessage.chat.id;
      await waitForEnd(asked.data!.sendMessage.assistantMessage.id);
      const original = (await branchOf(chatId)).messages;

      app.openai.enqueue({ chunks: ['edited answer'] });
      const edited = await client.mutate<{
        editMessage: { userMessage: { id: string }; assistantMessage: { id: string } };
      }>({
        mutation: EDIT,
        variables: { id: original[0]!.id, text: 'Branch me, edited', key: 'apollo-e1' },
      });
      await waitForEnd(edited.data!.editMessage.assistantMessage.id);
      let shown = await branchOf(chatId);
      expect(shown.messages.map((m) => m.content)).toEqual(['Branch me, edited', 'edited answer']);
      expect(shown.messages[0]).toMatchObject({
        siblingIds: [original[0]!.id, edited.data!.editMessage.userMessage.id],
        siblingIndex: 1,
      });

      app.openai.enqueue({ chunks: ['another answer'] });
      const again = await client.mutate<{ regenerateReply: { assistantMessage: { id: string } } }>({
        mutation: AGAIN,
        variables: { id: edited.data!.editMessage.assistantMessage.id },
      });
      await waitForEnd(again.data!.regenerateReply.assistantMessage.id);
      shown = await branchOf(chatId);
      expect(shown.messageCount).toBe(5);
      expect(shown.messages[1]).toMatchObject({ content: 'another answer', siblingIndex: 1 });

      await client.mutate({ mutation: SWITCH, variables: { id: original[0]!.id } });
      shown = await branchOf(chatId);
      expect(shown.messages.map((m) => m.content)).toEqual(['Branch me', 'first answer']);
      // The normalized cache holds the first prompt with its new sibling list.
      const cached = client.cache.extract() as Record<string, { siblingIds?: string[] }>;
      expect(cached[`Message:${original[0]!.id}`]!.siblingIds).toHaveLength(2);

      const share = await client.mutate<{ shareChat: { token: string; url: string } }>({
        mutation: SHARE,
        variables: { chatId },
      });
      const reader = new ApolloClient({
        cache: new InMemoryCache(),
        link: new HttpLink({ uri: app.url }),
      });
      const read = await reader.query<{
        sharedChat: { title: string; messages: Array<{ role: string; content: string }> };
      }>({
        query: apolloGql`
          query Read($token: String!) { sharedChat(token: $token) { title messages { role content } } }
        `,
        variables: { token: share.data!.shareChat.token },
      });
      expect(read.data!.sharedChat.messages.map((m) => m.content)).toEqual([
        'Branch me',
        'first answer',
      ]);
    });

    it("should keep a chat's links to 20 when a frontend shares at once, page them, and read the refusal's code, with one variables object for every document", async () => {
      const NEW_CHAT = apolloGql`
        mutation NewChat($title: String) { createChat(input: { title: $title }) { id } }
      `;
      const SHARE_LINK = apolloGql`
        fragment LinkFields on ChatShare { id url }
        mutation ShareLink($chatId: ID!) { link: shareChat(id: $chatId) { ...LinkFields } }
      `;
      const LINKS = apolloGql`
        query Links($chatId: ID!, $first: Int, $offset: Int) {
          chatShares(chatId: $chatId, limit: $first, skip: $offset) { id }
        }
      `;
      const made = await client.mutate<{ createChat: { id: string } }>({
        mutation: NEW_CHAT,
        variables: { title: 'Shared a lot' },
      });
      // One object for every document, as many frontends keep their form state: each document
      // reads what it declares, and the rest is ignored.
      const variables = {
        chatId: made.data!.createChat.id,
        first: 5,
        offset: 5,
        title: 'unused here',
      };
      const results = await Promise.all(
        Array.from({ length: 25 }, () =>
          client.mutate<{ link: { id: string; url: string } }>({
            mutation: SHARE_LINK,
            variables,
            errorPolicy: 'all',
          }),
        ),
      );
      const linked = results.filter((result) => result.data?.link);
      const refusals = results.map((result) => result.error).filter(Boolean);
      expect(linked).toHaveLength(20);
      expect(refusals).toHaveLength(5);
      for (const refusal of refusals) {
        expect(CombinedGraphQLErrors.is(refusal)).toBe(true);
        expect((refusal as CombinedGraphQLErrors).errors[0]!.extensions!.code).toBe(
          'BAD_USER_INPUT',
        );
      }
      const page = await client.query<{ chatShares: Array<{ id: string }> }>({
        query: LINKS,
        variables,
        fetchPolicy: 'network-only',
      });
      expect(page.data!.chatShares).toHaveLength(5);
    });

    it('should run automatic persisted queries through PersistedQueryLink (hash first, then the text once)', async () => {
      const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
      const sent: Array<{ hasQuery: boolean }> = [];
      const recordingFetch: typeof fetch = async (input, init) => {
        const body = JSON.parse(String(init?.body ?? '{}')) as { query?: string };
        sent.push({ hasQuery: typeof body.query === 'string' });
        return fetch(input, init);
      };
      const apq = new ApolloClient({
        cache: new InMemoryCache(),
        link: ApolloLink.from([
          new PersistedQueryLink({ sha256 }),
          new HttpLink({ uri: app.url, fetch: recordingFetch }),
        ]),
      });
      const PROVIDERS = apolloGql`
        query ProvidersForApq {
          llmProviders { llm defaultModel }
        }
      `;
      const first = await apq.query<{ llmProviders: unknown[] }>({
        query: PROVIDERS,
        fetchPolicy: 'network-only',
      });
      const second = await apq.query<{ llmProviders: unknown[] }>({
        query: PROVIDERS,
        fetchPolicy: 'network-only',
      });
      expect(second.data).toEqual(first.data);
      expect(first.data!.llmProviders.length).toBeGreaterThan(0);
      // Unknown hash → PERSISTED_QUERY_NOT_FOUND → the text once → the hash alone from then on.
      expect(sent).toEqual([{ hasQuery: false }, { hasQuery: true }, { hasQuery: false }]);
    });
  });

  describe('urql 6 with subscriptionExchange over graphql-ws', () => {
    let token = '';
    let client: UrqlClient;
    beforeAll(() => {
      const ws = wsClient(() => token);
      client = new UrqlClient({
        url: app.url,
        exchanges: [
          cacheExchange,
          fetchExchange,
          subscriptionExchange({
            forwardSubscription(request) {
              const input = { ...request, query: request.query || '' };
              return {
                subscribe(sink) {
                  const unsubscribe = ws.subscribe(input, sink);
                  return { unsubscribe };
                },
              };
            },
          }),
        ],
        // urql sends queries by GET; Apollo's CSRF prevention asks GET requests for a header
        // that a browser cannot send cross-site without a preflight (README: Connect a client).
        fetchOptions: () => ({
          headers: {
            'apollo-require-preflight': 'true',
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
        }),
      });
    });

    const LOGIN = urqlGql`
      mutation ($email: String!, $password: String!) {
        login(input: { email: $email, password: $password }) { accessToken }
      }
    `;
    const MY_CHATS = urqlGql`
      query MyChats($limit: Int!, $search: String) {
        chats(limit: $limit, search: $search) { nodes { id title } totalCount }
      }
    `;
    const SEND = urqlGql`
      mutation Send($input: SendMessageInput!) {
        sendMessage(input: $input) { chat { id } assistantMessage { id } }
      }
    `;
    const STREAM = urqlGql`
      fragment StreamedPart on MessageStreamEvent { seq delta done }
      subscription Stream($id: ID!, $after: Int) {
        part: messageStream(messageId: $id, after: $after) {
          ...StreamedPart
          message { status content }
        }
      }
    `;

    const follow = (id: string, after?: number, stopAfter?: number) =>
      new Promise<StreamEvent[]>((resolve, reject) => {
        const events: StreamEvent[] = [];
        const { unsubscribe } = client.subscription(STREAM, { id, after }).subscribe((result) => {
          if (result.error) return reject(result.error);
          const event = (result.data as { part: StreamEvent }).part;
          events.push(event);
          if (event.done || (stopAfter !== undefined && events.length >= stopAfter)) {
            // urql's subscription result stream stays open; the consumer ends it.
            setImmediate(() => unsubscribe());
            resolve(events);
          }
        });
      });

    it('should sign in, list chats by GET, stream a reply, and resume it after dropping off', async () => {
      const login = await client.mutation(LOGIN, { email: user.email, password: user.password });
      expect(login.error).toBeUndefined();
      token = (login.data as { login: { accessToken: string } }).login.accessToken;

      app.openai.enqueue({ chunks: REPLY, delayMs: 40 });
      const sent = await client.mutation(SEND, {
        input: { prompt: 'Another story, please', clientMessageId: 'urql-1' },
      });
      expect(sent.error).toBeUndefined();
      const { chat, assistantMessage } = (
        sent.data as { sendMessage: { chat: { id: string }; assistantMessage: { id: string } } }
      ).sendMessage;

      const list = await client.query(MY_CHATS, { limit: 5, search: 'another story' }).toPromise();
      expect(list.error).toBeUndefined();
      expect((list.data as { chats: { nodes: Array<{ id: string }> } }).chats.nodes[0]!.id).toBe(
        chat.id,
      );

      const firstPart = await follow(assistantMessage.id, undefined, 2);
      const rest = await follow(assistantMessage.id, firstPart.at(-1)!.seq);
      const all = [...firstPart, ...rest];
      expect(all.map((event) => event.seq)).toEqual(all.map((_, i) => i + 1));
      expect(
        all
          .filter((event) => !event.done)
          .map((event) => event.delta)
          .join(''),
      ).toBe(REPLY.join(''));
      expect(rest.at(-1)!.message).toMatchObject({ status: 'COMPLETE', content: REPLY.join('') });
    });

    it('should read a reply that reasons and calls a tool: reasoningDelta, toolCall and parts', async () => {
      const PARTS = urqlGql`
        fragment Call on ToolCall { id name status result }
        subscription Parts($id: ID!) {
          event: messageStream(messageId: $id) {
            seq
            delta
            reasoningDelta
            done
            toolCall { ...Call }
            message { content reasoning parts { type text toolCall { ...Call } } }
          }
        }
      `;
      enqueueReasoningToolReply(app);
      const sent = await client.mutation(SEND, {
        input: { prompt: 'Six times seven?', tools: ['calculator'] },
      });
      expect(sent.error).toBeUndefined();
      const id = (sent.data as { sendMessage: { assistantMessage: { id: string } } }).sendMessage
        .assistantMessage.id;
      const events = await new Promise<PartsEvent[]>((resolve, reject) => {
        const seen: PartsEvent[] = [];
        const { unsubscribe } = client.subscription(PARTS, { id }).subscribe((result) => {
          if (result.error) return reject(result.error);
          const event = (result.data as { event: PartsEvent }).event;
          seen.push(event);
          if (event.done) {
            setImmediate(() => unsubscribe());
            resolve(seen);
          }
        });
      });
      expectReasoningToolReply(events);
    });

    it('should tell a urql client left on its default GET without the header exactly what to send', async () => {
      const bare = new UrqlClient({ url: app.url, exchanges: [fetchExchange] });
      const result = await bare.query(MY_CHATS, { limit: 1 }).toPromise();
      expect(result.error?.graphQLErrors[0]?.extensions.code).toBe('BAD_REQUEST');
      expect(result.error?.graphQLErrors[0]?.message).toMatch(/apollo-require-preflight/);
    });
  });
});
