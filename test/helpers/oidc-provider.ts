import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidcProviderModule from 'oidc-provider';

/** oidc-provider is ESM-only with a default export; Node's require(esm) gives its namespace. */
const Provider = (oidcProviderModule as unknown as { default: typeof oidcProviderModule.default })
  .default;

export interface ProviderAccount {
  email?: string;
  email_verified?: boolean;
  given_name?: string;
  family_name?: string;
}

export const OIDC_CLIENT_ID = 'palaver-test';
export const OIDC_CLIENT_SECRET = 'palaver-test-client-secret-0123456789';

/**
 * A real OpenID provider (oidc-provider) on 127.0.0.1, port 0. Its login and consent pages are
 * replaced by one step that signs in whichever account `driveToRedirect` names and grants what
 * was asked, so a test walks the whole code flow through the provider's HTTP redirects.
 */
export class TestOidcProvider {
  readonly accounts = new Map<string, ProviderAccount>();
  private nextLogin = '';

  private constructor(
    private readonly server: Server,
    readonly issuer: string,
  ) {}

  static async start(redirectUris: string[]): Promise<TestOidcProvider> {
    let handler: Parameters<typeof createServer>[1] = () => undefined;
    const server = createServer((req, res) => handler!(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const test = new TestOidcProvider(server, issuer);
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: OIDC_CLIENT_ID,
          client_secret: OIDC_CLIENT_SECRET,
          redirect_uris: redirectUris,
          grant_types: ['authorization_code'],
          response_types: ['code'],
        },
      ],
      pkce: { required: () => true },
      claims: {
        openid: ['sub'],
        email: ['email', 'email_verified'],
        profile: ['given_name', 'family_name'],
      },
      // The ID token carries the claims (openid-client's claims() reads the ID token).
      conformIdTokenClaims: false,
      features: { devInteractions: { enabled: false } },
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      cookies: { keys: ['test-cookie-key-0123456789'] },
      findAccount: (_ctx, sub) => {
        const account = test.accounts.get(sub);
        return account ? { accountId: sub, claims: () => ({ sub, ...account }) } : undefined;
      },
      // Consent is given at once: every scope the client asked for.
      loadExistingGrant: async (ctx) => {
        const grant = new ctx.oidc.provider.Grant({
          clientId: ctx.oidc.client!.clientId,
          accountId: ctx.oidc.session!.accountId!,
        });
        grant.addOIDCScope('openid email profile');
        await grant.save();
        return grant;
      },
    });
    const callback = provider.callback();
    handler = (req, res) => {
      if (req.url?.startsWith('/interaction/')) {
        // The "login page": signs in the account the test named.
        provider
          .interactionFinished(
            req,
            res,
            { login: { accountId: test.nextLogin } },
            { mergeWithLastSubmission: false },
          )
          .catch((error: unknown) => {
            res.statusCode = 500;
            res.end(String(error));
          });
        return;
      }
      void callback(req, res);
    };
    return test;
  }

  /**
   * Follows a browser through the provider from `authorizationUrl`, signing in `login`, and
   * returns the URL it is finally sent to (the client's redirect URI with code, state, iss).
   */
  async driveToRedirect(authorizationUrl: string, login: string, redirectPrefix: string) {
    this.nextLogin = login;
    const jar = new Map<string, string>();
    let url = authorizationUrl;
    for (let hop = 0; hop < 10; hop++) {
      const response = await fetch(url, {
        redirect: 'manual',
        headers: { cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; ') },
      });
      for (const cookie of response.headers.getSetCookie()) {
        const pair = cookie.split(';')[0]!;
        const at = pair.indexOf('=');
        jar.set(pair.slice(0, at), pair.slice(at + 1));
      }
      const location = response.headers.get('location');
      if (!location) throw new Error(`no redirect from ${url}: ${response.status}`);
      const next = new URL(location, url);
      if (next.href.startsWith(redirectPrefix)) return next;
      url = next.href;
    }
    throw new Error('too many redirects');
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
