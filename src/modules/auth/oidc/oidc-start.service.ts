/**
 * The first half of an OpenID Connect sign-in (authorization code with PKCE, state and nonce).
 * Protects against an open redirect (only OIDC_REDIRECT_URIS), login CSRF and code injection
 * (a random single-use state the server keeps, with the PKCE verifier and the nonce, which never
 * leave it).
 */
import * as oidc from 'openid-client';
import { BadUserInputError, ServiceUnavailableError } from '../../../errors/errors';
import type { OidcClients } from './oidc-clients';
import type { OidcFlowStore } from './oidc-flow-store';
import type { OidcStart, SignInProvider } from './oidc.types';

/** How soon to try again when a provider's discovery document cannot be read. */
const PROVIDER_RETRY_SECONDS = 30;

export class OidcStartService {
  constructor(
    private readonly clients: OidcClients,
    private readonly flows: OidcFlowStore,
    private readonly redirectUris: readonly string[],
  ) {}

  providers(): SignInProvider[] {
    return this.clients.providers.map(({ id, name }) => ({ id, name }));
  }

  async start(providerId: string, redirectUri: string): Promise<OidcStart> {
    const provider = this.clients.find(providerId);
    if (!provider) throw new BadUserInputError({ provider: 'No such sign-in provider.' });
    if (!this.redirectUris.includes(redirectUri)) {
      throw new BadUserInputError({ redirectUri: 'This redirect URI is not allowed.' });
    }
    const config = await this.clients.configurationOf(provider).catch(() => {
      throw new ServiceUnavailableError(
        `${provider.name} cannot be reached right now.`,
        PROVIDER_RETRY_SECONDS,
      );
    });
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    await this.flows.put(state, { provider: provider.id, redirectUri, codeVerifier, nonce });
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: provider.scopes.join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { authorizationUrl: url.href, state };
  }
}
