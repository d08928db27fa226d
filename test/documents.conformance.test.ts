import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import type { FormattedExecutionResult } from 'graphql';
import { LoginDocument, SessionsDocument, StartTotpEnrollmentDocument } from './gql/graphql';
import { registerUser, STRONG_PASSWORD, uniqueEmail, type TestUser } from './helpers/accounts';
import { sendMessage, streamToEnd } from './helpers/chat';
import {
  documentVariants,
  rootFields,
  type DocumentVariant,
  type OperationKind,
} from './helpers/document-variants';
import { tokenFromMail } from './helpers/smtp-capture';
import { SoftAuthenticator } from './helpers/soft-authenticator';
import { OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, TestOidcProvider } from './helpers/oidc-provider';
import { codeAt, enrolledUser } from './helpers/two-factor';
import { APP_URL, TestApp } from './helpers/test-app';
import { TestSocket } from './helpers/ws-client';
import { op } from '../src/db/trusted';
import { FakeStripe } from './helpers/fake-stripe';
import { BUDGET_EVENTS } from '../src/modules/billing/budget-events';

/**
 * Every root field of the built schema, called with documents of every shape an independently
 * written client may send (see documentVariants), over HTTP and over the WebSocket. Each
 * variant must give what the canonical document gives. A new operation without a fixture here
 * fails the suite, so nobody has to remember to add it.
 */

type Args = Record<string, unknown>;
interface Prepared {
  args: Args;
  /** Who calls (defaults to the main user). */
  token?: string;
  /** Runs after a successful call, to keep the fixture's state in step. */
  after?: () => void;
}
interface Fixture {
  /** Fresh argument values for one call (single-use tokens, new addresses…). */
  prepare: () => Promise<Prepared>;
  /**
   * `equal`: every variant answers exactly the canonical result (dates aside).
   * `shape`: the same fields and types (the call creates something new each time).
   */
  compare: 'equal' | 'shape';
  /** What must hold of the result for these arguments: proves the arguments were used. */
  check?: (value: any, args: Args) => void;
}

const OIDC_REDIRECT = 'http://app.test/auth/callback';

const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** The root field's value whatever its response key, with __typename and dates set aside. */
function normalize(result: FormattedExecutionResult, compare: 'equal' | 'shape') {
  const errors = result.errors?.map((error) => error.extensions?.code ?? error.message);
  const data = result.data as Record<string, unknown> | null | undefined;
  const keys = data ? Object.keys(data).filter((key) => key !== '__typename') : [];
  const value = data && keys.length === 1 ? data[keys[0]!] : data;
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node && typeof node === 'object') {
      return Object.fromEntries(
        Object.entries(node)
          .filter(([key]) => key !== '__typename')
          .map(([key, inner]) => [key, walk(inner)]),
      );
    }
    if (compare === 'shape') return node === null ? null : typeof node;
    return typeof node === 'string' && DATE.test(node) ? '<date>' : node;
  };
  return { errors, value: walk(value) };
}

describe('documents of every shape, on every root field', () => {
  let app: TestApp;
  let main: TestUser;
  let socket: TestSocket;
  let chatId: string;
  let finishedReplyId: string;
  /** A chat whose prompt is edited and whose reply is regenerated, again and again. */
  const branching = { promptId: '', replyId: '' };
  let share: { id: string; token: string };
  const signInUser = { email: '', password: STRONG_PASSWORD };
  const passwordUser = { token: '', password: STRONG_PASSWORD, round: 0 };
  let resetEmail = '';
  let storedAttachmentId = '';
  let stripe: FakeStripe;
  let oidcProvider: TestOidcProvider;

  /** Options from startPasskeyRegistration (with a token) or startPasskeySignIn. */
  const startPasskey = async (token: string | undefined, kind: 'register' | 'sign-in') => {
    const { data } = await app
      .http()
      .raw<Record<string, Record<string, unknown>>>(
        kind === 'register'
          ? 'mutation R { startPasskeyRegistration }'
          : 'mutation S { startPasskeySignIn }',
        {},
        { token },
      );
    return Object.values(data!)[0]!;
  };
  const finishPasskey = async (token: string, response: Record<string, unknown>) => {
    const result = await app
      .http()
      .raw(
        'mutation F($r: JSONObject!) { finishPasskeyRegistration(response: $r) { id } }',
        { r: response },
        { token },
      );
    expect(result.errors).toBeUndefined();
  };

  /** A sign-in at the provider for a new account of it: the redirect's state, code and iss. */
  const oidcRedirect = async (email: string) => {
    const sub = `sub-${randomUUID()}`;
    oidcProvider.accounts.set(sub, { email, email_verified: true, given_name: 'Conform' });
    const { data } = await app.http().raw<{
      startOidcSignIn: { authorizationUrl: string };
    }>('mutation S($r: String!) { startOidcSignIn(provider: "idp", redirectUri: $r) { authorizationUrl } }', {
      r: OIDC_REDIRECT,
    });
    const back = await oidcProvider.driveToRedirect(
      data!.startOidcSignIn.authorizationUrl,
      sub,
      OIDC_REDIRECT,
    );
    return {
      state: back.searchParams.get('state')!,
      code: back.searchParams.get('code')!,
      iss: back.searchParams.get('iss'),
    };
  };

  beforeAll(async () => {
    // A tool that waits for approval gives approveToolCall a call to answer.
    // Stripe (a local fake) gives startCheckout and openBillingPortal something to answer.
    stripe = await FakeStripe.start();
    oidcProvider = await TestOidcProvider.start([OIDC_REDIRECT]);
    app = await TestApp.start({
      env: {
        TOOLS_REQUIRE_APPROVAL: 'calculator',
        PLANS: JSON.stringify([
          { id: 'free', name: 'Free' },
          { id: 'pro', name: 'Pro', stripePriceId: 'price_pro' },
        ]),
        STRIPE_SECRET_KEY: 'sk_test_conformance',
        STRIPE_WEBHOOK_SECRET: 'whsec_conformance',
        STRIPE_API_BASE: stripe.origin,
        OIDC_REDIRECT_URIS: OIDC_REDIRECT,
        OIDC_PROVIDERS: JSON.stringify([
          {
            id: 'idp',
            name: 'Test IdP',
            issuer: oidcProvider.issuer,
            clientId: OIDC_CLIENT_ID,
            clientSecret: OIDC_CLIENT_SECRET,
          },
        ]),
      },
    });
    main = await registerUser(app);
    socket = app.socket(main.auth.accessToken);
    const sent = await sendMessage(app, main.auth.accessToken, {
      prompt: 'conformance: hello there',
    });
    chatId = sent.chat.id;
    finishedReplyId = sent.assistantMessage.id;
    await streamToEnd(socket, finishedReplyId);
    await app
      .http()
      .raw(
        'mutation T($id: ID!) { updateChat(id: $id, input: { tags: ["Conformance"] }) { id } }',
        { id: chatId },
        { token: main.auth.accessToken },
      );
    share = (
      await app.http().raw<{
        shareChat: { id: string; token: string };
      }>(
        'mutation S($id: ID!) { shareChat(id: $id) { id token } }',
        { id: chatId },
        {
          token: main.auth.accessToken,
        },
      )
    ).data!.shareChat;
    signInUser.email = (await registerUser(app)).email;
    passwordUser.token = (await registerUser(app)).auth.accessToken;
    resetEmail = (await registerUser(app)).email;
  }, 60_000);
  afterAll(async () => {
    await socket?.dispose();
    await app?.stop();
    await oidcProvider?.stop();
    await stripe?.stop();
  });

  const login = async (user: { email: string; password: string }) =>
    (await app.http().data(LoginDocument, { input: user })).login;

  /** The token of the newest mail of this kind to this address, waiting for one after `count`. */
  const nextMailToken = async (
    address: string,
    path: '/verify-email' | '/reset-password',
    count: number,
  ) => {
    const matching = () => app.mail.to(address).filter((mail) => mail.text.includes(path));
    await app.mail.waitFor(() => matching().length > count);
    return tokenFromMail(matching().at(-1)!, path);
  };

  /** A ticket for a small text file of the main user's, and, when `put`, its bytes stored. */
  const upload = async (put: boolean) => {
    const bytes = Buffer.from('conformance attachment\n', 'utf8');
    const ticket = (
      await app
        .http()
        .raw<{ createUpload: { attachmentId: string; uploadUrl: string } }>(
          'mutation { createUpload(input: { filename: "c.txt", mediaType: "text/plain", size: 23 }) { attachmentId uploadUrl } }',
          undefined,
          { token: main.auth.accessToken },
        )
    ).data!.createUpload;
    expect(bytes.length).toBe(23);
    if (put) {
      const response = await fetch(ticket.uploadUrl, {
        method: 'PUT',
        headers: { authorization: `Bearer ${main.auth.accessToken}` },
        body: new Uint8Array(bytes),
      });
      expect(response.status).toBe(201);
    }
    return ticket.attachmentId;
  };

  const createChat = async () => {
    const result = await app
      .http()
      .raw<{ createChat: { id: string } }>(
        'mutation { createChat(input: { title: "conformance scratch" }) { id } }',
        undefined,
        { token: main.auth.accessToken },
      );
    return result.data!.createChat.id;
  };

  /** At most 3 replies generate at once per user; let the previous ones finish. */
  const repliesDone = async () => {
    for (let i = 0; i < 200 && app.app.replies.size > 0; i++) await sleep(10);
  };

  /** A new chat with one finished exchange, so every edit or regeneration has the same siblings. */
  const freshExchange = async () => {
    await repliesDone();
    const sent = await sendMessage(app, main.auth.accessToken, {
      prompt: 'conformance: branch me',
    });
    await repliesDone();
    branching.promptId = sent.userMessage.id;
    branching.replyId = sent.assistantMessage.id;
    return branching;
  };

  const fixtures: Record<OperationKind, Record<string, Fixture>> = {
    query: {
      me: { prepare: async () => ({ args: {} }), compare: 'equal' },
      sessions: { prepare: async () => ({ args: {} }), compare: 'equal' },
      passkeys: { prepare: async () => ({ args: {} }), compare: 'equal' },
      signInProviders: {
        prepare: async () => ({ args: {} }),
        compare: 'equal',
        check: (providers) => expect(providers).toMatchObject([{ id: 'idp', name: 'Test IdP' }]),
      },
      llmProviders: { prepare: async () => ({ args: {} }), compare: 'equal' },
      tools: {
        prepare: async () => ({ args: {} }),
        compare: 'equal',
        check: (tools) =>
          expect(tools).toContainEqual(
            expect.objectContaining({ name: 'calculator', requiresApproval: true }),
          ),
      },
      chat: {
        prepare: async () => ({ args: { id: chatId } }),
        compare: 'equal',
        check: (chat, args) => expect(chat.id).toBe(args.id),
      },
      chats: {
        prepare: async () => ({ args: { limit: 1, skip: 0, search: 'CONFORMANCE: hello' } }),
        compare: 'equal',
        check: (page) => {
          expect(page.nodes).toHaveLength(1);
          expect(page.nodes[0].id).toBe(chatId);
        },
      },
      chatTags: {
        prepare: async () => ({ args: {} }),
        compare: 'equal',
        check: (tags) =>
          expect(tags).toContainEqual(expect.objectContaining({ tag: 'Conformance', count: 1 })),
      },
      chatShares: {
        prepare: async () => ({ args: { chatId } }),
        compare: 'equal',
        check: (shares) => expect(shares.map((s: { id: string }) => s.id)).toContain(share.id),
      },
      attachments: {
        prepare: async () => {
          storedAttachmentId ||= await upload(true);
          return { args: { limit: 5 } };
        },
        // Each link is signed with its own expiry: the same fields, not the same values.
        compare: 'shape',
        check: (page) =>
          expect(page.nodes.map((node: { id: string }) => node.id)).toContain(storedAttachmentId),
      },
      usage: {
        prepare: async () => ({
          args: {
            from: new Date(Date.now() - 86_400_000).toISOString(),
            to: new Date(Date.now() + 86_400_000).toISOString(),
            groupBy: 'MODEL',
          },
        }),
        // Replies of other fixtures settle meanwhile: the same fields, not the same counts.
        compare: 'shape',
        check: (buckets) => {
          expect(Array.isArray(buckets)).toBe(true);
          for (const bucket of buckets) expect(bucket.day).toBeNull();
        },
      },
      budget: {
        prepare: async () => ({ args: {} }),
        compare: 'shape',
        check: (budget) => expect(budget.period).toBe(new Date().toISOString().slice(0, 7)),
      },
      plans: {
        prepare: async () => ({ args: {} }),
        compare: 'equal',
        check: (plans) =>
          expect(plans.map((plan: { id: string }) => plan.id)).toEqual(['free', 'pro']),
      },
      storageUsed: {
        prepare: async () => {
          storedAttachmentId ||= await upload(true);
          return { args: {} };
        },
        compare: 'equal',
        check: (used) => expect(used).toBeGreaterThanOrEqual(23),
      },
      sharedChat: {
        prepare: async () => ({ args: { token: share.token } }),
        compare: 'equal',
        check: (shared) => {
          expect(shared.messages[0].content).toBe('conformance: hello there');
          expect(JSON.stringify(shared)).not.toMatch(/userId|email|metadata/);
        },
      },
    },
    mutation: {
      register: {
        prepare: async () => ({
          args: {
            input: {
              email: uniqueEmail('conformance'),
              password: STRONG_PASSWORD,
              confirmPassword: STRONG_PASSWORD,
              firstName: 'Con',
              lastName: 'Formance',
            },
          },
        }),
        compare: 'shape',
        check: (payload, args) =>
          expect(payload.user.email).toBe((args.input as { email: string }).email),
      },
      login: {
        prepare: async () => ({ args: { input: { ...signInUser } } }),
        compare: 'shape',
        check: (payload) => expect(payload.user.email).toBe(signInUser.email),
      },
      refreshSession: {
        prepare: async () => ({ args: { refreshToken: (await login(signInUser)).refreshToken } }),
        compare: 'shape',
        check: (payload, args) => expect(payload.refreshToken).not.toBe(args.refreshToken),
      },
      logout: {
        prepare: async () => ({ args: { refreshToken: (await login(signInUser)).refreshToken } }),
        compare: 'equal',
        check: (ended) => expect(ended).toBe(true),
      },
      logoutAllSessions: {
        prepare: async () => ({ args: {}, token: (await login(signInUser)).accessToken }),
        compare: 'equal',
        check: (ended) => expect(ended).toBe(true),
      },
      revokeSession: {
        prepare: async () => {
          const other = await login({ email: main.email, password: main.password });
          const sessions = await app
            .http()
            .data(SessionsDocument, {}, { token: other.accessToken });
          return { args: { id: sessions.sessions.find((session) => session.current)!.id } };
        },
        compare: 'equal',
        check: (revoked) => expect(revoked).toBe(true),
      },
      verifyEmail: {
        prepare: async () => {
          const user = await registerUser(app);
          return { args: { token: await nextMailToken(user.email, '/verify-email', 0) } };
        },
        compare: 'shape',
        check: (user) => expect(user.emailVerified).toBe(true),
      },
      resendVerificationEmail: {
        prepare: async () => ({ args: { email: uniqueEmail('nobody') } }),
        compare: 'equal',
        check: (sent) => expect(sent).toBe(true),
      },
      forgotPassword: {
        prepare: async () => ({ args: { email: main.email } }),
        compare: 'equal',
        check: (sent) => expect(sent).toBe(true),
      },
      resetPassword: {
        prepare: async () => {
          const count = app.mail
            .to(resetEmail)
            .filter((mail) => mail.text.includes('/reset-password')).length;
          await app.http().raw('mutation F($e: String!) { forgotPassword(email: $e) }', {
            e: resetEmail,
          });
          const token = await nextMailToken(resetEmail, '/reset-password', count);
          const password = `reset-${randomUUID()}`;
          return {
            args: { input: { token, newPassword: password, confirmNewPassword: password } },
          };
        },
        compare: 'equal',
        check: (done) => expect(done).toBe(true),
      },
      changePassword: {
        prepare: async () => {
          const next = `changed-${(passwordUser.round += 1)}-${randomUUID()}`;
          return {
            args: {
              input: {
                currentPassword: passwordUser.password,
                newPassword: next,
                confirmNewPassword: next,
              },
            },
            token: passwordUser.token,
            after: () => (passwordUser.password = next),
          };
        },
        compare: 'equal',
        check: (done) => expect(done).toBe(true),
      },
      startTotpEnrollment: {
        prepare: async () => {
          const user = await registerUser(app);
          return { args: { password: user.password }, token: user.auth.accessToken };
        },
        compare: 'shape',
        check: (enrollment) => expect(enrollment.otpauthUrl).toContain(enrollment.secret),
      },
      confirmTotpEnrollment: {
        prepare: async () => {
          const user = await registerUser(app);
          const token = user.auth.accessToken;
          const { startTotpEnrollment } = await app
            .http()
            .data(StartTotpEnrollmentDocument, { password: user.password }, { token });
          return { args: { code: codeAt(startTotpEnrollment.secret) }, token };
        },
        compare: 'shape',
        check: (codes) => expect(codes).toHaveLength(10),
      },
      disableTwoFactor: {
        prepare: async () => {
          const user = await enrolledUser(app);
          return {
            args: { password: user.password, code: user.recoveryCodes[0] },
            token: user.auth.accessToken,
          };
        },
        compare: 'shape',
        check: (user) => expect(user.twoFactorEnabled).toBe(false),
      },
      verifySecondFactor: {
        prepare: async () => {
          const user = await enrolledUser(app);
          const refused = await app
            .http()
            .request(LoginDocument, { input: { email: user.email, password: user.password } });
          const challenge = refused.errors![0]!.extensions!.challenge as string;
          return { args: { input: { challenge, recoveryCode: user.recoveryCodes[0] } } };
        },
        compare: 'shape',
        check: (auth) => expect(auth.accessToken).toEqual(expect.any(String)),
      },
      startOidcSignIn: {
        prepare: async () => ({ args: { provider: 'idp', redirectUri: OIDC_REDIRECT } }),
        compare: 'shape',
        check: (start) => expect(start.authorizationUrl).toContain(start.state),
      },
      completeOidcSignIn: {
        prepare: async () => ({ args: await oidcRedirect(uniqueEmail('sso')) }),
        compare: 'shape',
        check: (auth) => expect(auth.user.email).toMatch(/^sso-/),
      },
      unlinkIdentity: {
        prepare: async () => {
          const user = await registerUser(app);
          const token = await nextMailToken(user.email, '/verify-email', 0);
          await app.http().raw('mutation V($t: String!) { verifyEmail(token: $t) { id } }', {
            t: token,
          });
          await app
            .http()
            .raw(
              'mutation C($state: String!, $code: String!, $iss: String) { completeOidcSignIn(state: $state, code: $code, iss: $iss) { accessToken } }',
              await oidcRedirect(user.email),
            );
          return { args: { provider: 'idp' }, token: user.auth.accessToken };
        },
        compare: 'shape',
        check: (user) => expect(user.identities).toEqual([]),
      },
      startPasskeyRegistration: {
        prepare: async () => ({ args: {} }),
        compare: 'shape',
        check: (options) => expect(options.rp).toMatchObject({ id: 'app.test' }),
      },
      finishPasskeyRegistration: {
        prepare: async () => {
          const user = await registerUser(app);
          const token = user.auth.accessToken;
          const options = await startPasskey(token, 'register');
          const authenticator = new SoftAuthenticator('app.test', APP_URL);
          return { args: { response: authenticator.register(options), name: 'Key' }, token };
        },
        compare: 'shape',
        check: (passkey) => expect(passkey.name).toBe('Key'),
      },
      removePasskey: {
        prepare: async () => {
          const user = await registerUser(app);
          const token = user.auth.accessToken;
          const authenticator = new SoftAuthenticator('app.test', APP_URL);
          await finishPasskey(token, authenticator.register(await startPasskey(token, 'register')));
          return { args: { id: authenticator.id }, token };
        },
        compare: 'equal',
        check: (removed) => expect(removed).toBe(true),
      },
      startPasskeySignIn: {
        prepare: async () => ({ args: { email: main.email } }),
        compare: 'shape',
        check: (options) => expect(options.rpId).toBe('app.test'),
      },
      finishPasskeySignIn: {
        prepare: async () => {
          const user = await registerUser(app);
          const token = user.auth.accessToken;
          const authenticator = new SoftAuthenticator('app.test', APP_URL);
          await finishPasskey(token, authenticator.register(await startPasskey(token, 'register')));
          const options = await startPasskey(undefined, 'sign-in');
          return { args: { response: authenticator.signIn(options) } };
        },
        compare: 'shape',
        check: (auth) => expect(auth.accessToken).toEqual(expect.any(String)),
      },
      startCheckout: {
        prepare: async () => ({ args: { plan: 'pro' } }),
        // A new Checkout Session each time.
        compare: 'shape',
        check: (url) => expect(url).toMatch(/^https:\/\/checkout\.stripe\.test\//),
      },
      openBillingPortal: {
        prepare: async () => {
          await app.http().raw(
            'mutation { startCheckout(plan: "pro") }',
            {},
            {
              token: main.auth.accessToken,
            },
          );
          return { args: {} };
        },
        compare: 'shape',
        check: (url) => expect(url).toMatch(/^https:\/\/billing\.stripe\.test\//),
      },
      setSelfBudget: {
        prepare: async () => ({ args: { input: { monthlyTokens: 100_000_000 } } }),
        compare: 'shape',
        check: (budget) => expect(budget.limitTokens).toBe(100_000_000),
      },
      updateProfile: {
        prepare: async () => ({
          args: { input: { firstName: 'Conform', metadata: { theme: 'dark', nested: { n: 1 } } } },
        }),
        compare: 'equal',
        check: (user) => {
          expect(user.firstName).toBe('Conform');
          expect(user.metadata).toMatchObject({ theme: 'dark', nested: { n: 1 } });
        },
      },
      deleteAccount: {
        prepare: async () => {
          const leaving = await registerUser(app);
          return { args: { password: leaving.password }, token: leaving.auth.accessToken };
        },
        compare: 'equal',
        check: (deleted) => expect(deleted).toBe(true),
      },
      createChat: {
        prepare: async () => ({ args: { input: { title: 'Made by conformance' } } }),
        compare: 'shape',
        check: (chat) => expect(chat.title).toBe('Made by conformance'),
      },
      updateChat: {
        prepare: async () => ({
          args: { id: chatId, input: { title: 'conformance: hello there (renamed)' } },
        }),
        compare: 'equal',
        check: (chat) => expect(chat.title).toBe('conformance: hello there (renamed)'),
      },
      deleteChat: {
        prepare: async () => ({ args: { id: await createChat() } }),
        compare: 'equal',
        check: (deleted) => expect(deleted).toBe(true),
      },
      sendMessage: {
        prepare: async () => {
          // At most 3 replies generate at once per user; let the previous one finish.
          for (let i = 0; i < 200 && app.app.replies.size > 0; i++) await sleep(10);
          return {
            args: {
              // A chat of its own each time, so that every payload has the same shape.
              input: {
                chatId: await createChat(),
                prompt: 'conformance: and then?',
                clientMessageId: randomUUID(),
              },
            },
          };
        },
        compare: 'shape',
        check: (payload, args) => {
          expect(payload.chat.id).toBe(args.input && (args.input as { chatId: string }).chatId);
          expect(payload.userMessage.content).toBe('conformance: and then?');
        },
      },
      editMessage: {
        prepare: async () => {
          const { promptId } = await freshExchange();
          return {
            args: {
              input: {
                messageId: promptId,
                prompt: 'conformance: branched',
                clientMessageId: randomUUID(),
              },
            },
          };
        },
        compare: 'shape',
        check: (payload, args) => {
          expect(payload.userMessage.content).toBe('conformance: branched');
          expect(payload.userMessage.id).not.toBe((args.input as { messageId: string }).messageId);
          expect(payload.userMessage.parentId).toBeNull();
        },
      },
      regenerateReply: {
        prepare: async () => {
          const { replyId } = await freshExchange();
          return {
            args: { input: { messageId: replyId, clientMessageId: randomUUID() } },
          };
        },
        compare: 'shape',
        check: (payload) => {
          expect(payload.userMessage.id).toBe(branching.promptId);
          expect(payload.assistantMessage.parentId).toBe(branching.promptId);
        },
      },
      switchBranch: {
        prepare: async () => ({ args: { messageId: finishedReplyId } }),
        compare: 'equal',
        check: (chat) => expect(chat.id).toBe(chatId),
      },
      shareChat: {
        prepare: async () => {
          // Every variant makes a link: revoke the earlier ones (a chat keeps at most 20 live).
          await app.app.models.ChatShare.deleteMany({ chatId, _id: op({ $ne: share.id }) });
          return { args: { id: chatId } };
        },
        compare: 'shape',
        check: (created) => expect(created.url).toBe(`${APP_URL}/share/${created.token}`),
      },
      unshareChat: {
        prepare: async () => {
          const made = await app.http().raw<{
            shareChat: { id: string };
          }>(
            'mutation S($id: ID!) { shareChat(id: $id) { id } }',
            { id: chatId },
            {
              token: main.auth.accessToken,
            },
          );
          return { args: { shareId: made.data!.shareChat.id } };
        },
        compare: 'equal',
        check: (done) => expect(done).toBe(true),
      },
      createUpload: {
        prepare: async () => ({
          args: { input: { filename: 'notes.md', mediaType: 'text/markdown', size: 10 } },
        }),
        compare: 'shape',
        check: (ticket) => expect(ticket.uploadUrl).toContain(`/uploads/${ticket.attachmentId}/`),
      },
      deleteAttachment: {
        prepare: async () => ({ args: { id: await upload(false) } }),
        compare: 'equal',
        check: (done) => expect(done).toBe(true),
      },
      approveToolCall: {
        // A fresh reply whose calculator call waits for approval; the variant denies it.
        prepare: async () => {
          await repliesDone();
          app.openai.enqueue({
            toolCalls: [
              { id: 'conformance-call', name: 'calculator', arguments: { expression: '1+1' } },
            ],
          });
          app.openai.enqueue({ chunks: ['Denied, fine.'] });
          const sent = await sendMessage(app, main.auth.accessToken, {
            prompt: 'conformance: approve me',
            tools: ['calculator'],
          });
          const messageId = sent.assistantMessage.id;
          for (let i = 0; i < 500; i++) {
            const saved = await app.app.models.Message.findById(messageId).lean();
            if (saved?.parts?.[0]?.toolCall?.status === 'PENDING_APPROVAL') break;
            await sleep(10);
          }
          return { args: { messageId, toolCallId: 'conformance-call', approve: false } };
        },
        compare: 'shape',
        check: (message, args) => {
          expect(message.id).toBe(args.messageId);
          expect(message.status).toBe('STREAMING');
        },
      },
      stopGeneration: {
        prepare: async () => ({ args: { messageId: finishedReplyId } }),
        compare: 'equal',
        check: (message, args) => {
          expect(message.id).toBe(args.messageId);
          expect(message.status).toBe('COMPLETE');
        },
      },
    },
    subscription: {
      messageStream: {
        prepare: async () => ({ args: { messageId: finishedReplyId, after: 3 } }),
        compare: 'equal',
        check: (event, args) => {
          expect(event).toMatchObject({ messageId: args.messageId, done: true });
          expect(event.message.id).toBe(args.messageId);
        },
      },
      chatEvents: {
        prepare: async () => ({ args: {} }),
        compare: 'equal',
        check: (event) => expect(event).toMatchObject({ type: 'UPDATED', chatId }),
      },
      budgetEvents: {
        prepare: async () => ({ args: {} }),
        // The budget's usage moves as other fixtures' replies settle.
        compare: 'shape',
        check: (event) => expect(event.percent).toBe(80),
      },
    },
  };

  /** Sends one document over HTTP (POST JSON, as Apollo Client and urql do). */
  const overHttp = async (variant: DocumentVariant, token: string) => {
    const response = await app.http().raw(variant.query, variant.variables, { token });
    return { data: response.data, errors: response.errors } as FormattedExecutionResult;
  };

  /** Sends one document over the socket; a subscription's first event is its result. */
  const overSocket = async (variant: DocumentVariant, token: string, kind: OperationKind) => {
    const own = token === main.auth.accessToken ? null : app.socket(token);
    const client = (own ?? socket).client;
    try {
      const iterator = client.iterate({ query: variant.query, variables: variant.variables });
      let poke: NodeJS.Timeout | undefined;
      if (kind === 'subscription' && variant.query.includes('chatEvents')) {
        // chatEvents has nothing to say until a chat changes: change one until it speaks.
        const touch = () =>
          void app
            .http()
            .raw(
              'mutation T($id: ID!) { updateChat(id: $id, input: { title: "conformance: events" }) { id } }',
              { id: chatId },
              { token: main.auth.accessToken },
            );
        poke = setInterval(touch, 150);
      }
      if (kind === 'subscription' && variant.query.includes('budgetEvents')) {
        // A budget speaks when a reply crosses a mark: publish one as the settle would.
        const mark = () =>
          app.app.pubSub.publish(BUDGET_EVENTS, main.auth.user.id, { percent: 80 });
        poke = setInterval(mark, 150);
      }
      const first = await iterator.next().finally(() => clearInterval(poke));
      await iterator.return?.();
      return first.value as FormattedExecutionResult;
    } finally {
      await own?.dispose();
    }
  };

  it('should have a fixture for every root field of the built schema', () => {
    for (const kind of ['query', 'mutation', 'subscription'] as const) {
      const missing = rootFields(app.app.schema, kind)
        .map((field) => field.name)
        .filter((name) => !fixtures[kind][name]);
      expect({ kind, missing }).toEqual({ kind, missing: [] });
    }
  });

  const counted = { documents: 0 };
  afterAll(() => {
    // The closing note quotes this figure.
    console.log(`document conformance: ${counted.documents} documents sent`);
  });

  for (const kind of ['query', 'mutation', 'subscription'] as const) {
    describe(kind, () => {
      // The built schema is only at hand once the app runs; the fixtures name every field.
      for (const fieldName of Object.keys(fixtures[kind])) {
        it(`${fieldName}: every document shape gives the canonical result, over HTTP and the socket`, async () => {
          const fixture = fixtures[kind][fieldName]!;
          const transports =
            kind === 'subscription' ? (['socket'] as const) : (['http', 'socket'] as const);
          let canonical: ReturnType<typeof normalize> | null = null;
          for (const transport of transports) {
            // Variants come from the schema; each gets fresh arguments.
            const probe = await fixture.prepare();
            const variants = documentVariants(app.app.schema, kind, fieldName, probe.args);
            for (const [index, template] of variants.entries()) {
              const prepared = index === 0 ? probe : await fixture.prepare();
              const [variant] = documentVariants(
                app.app.schema,
                kind,
                fieldName,
                prepared.args,
              ).slice(index, index + 1);
              expect(variant!.name).toBe(template.name);
              const token = prepared.token ?? main.auth.accessToken;
              const result =
                transport === 'http'
                  ? await overHttp(variant!, token)
                  : await overSocket(variant!, token, kind);
              counted.documents += 1;
              const got = normalize(result, fixture.compare);
              const label = `${kind} ${fieldName} over ${transport}, ${variant!.name}:\n${variant!.query}`;
              if (!canonical) {
                expect({ label, errors: got.errors }).toEqual({ label, errors: undefined });
                canonical = got;
              }
              expect({ label, ...got }).toEqual({ label, ...canonical });
              if (!got.errors) {
                const raw = result.data as Record<string, unknown>;
                const key = Object.keys(raw).find((k) => k !== '__typename')!;
                fixture.check?.(raw[key], prepared.args);
                prepared.after?.();
              }
            }
          }
        }, 120_000);
      }
    });
  }
});
