/**
 * The configured OpenID providers, each discovered once (its metadata and keys, through
 * openid-client) and kept. A discovery that fails is tried again at the next sign-in.
 */
import * as oidc from 'openid-client';
import type { OidcProviderConfig } from '../../../config/config';

export class OidcClients {
  private readonly discovered = new Map<string, Promise<oidc.Configuration>>();

  constructor(readonly providers: readonly OidcProviderConfig[]) {}

  find(id: string): OidcProviderConfig | undefined {
    return this.providers.find((provider) => provider.id === id);
  }

  configurationOf(provider: OidcProviderConfig): Promise<oidc.Configuration> {
    let found = this.discovered.get(provider.id);
    if (!found) {
      const issuer = new URL(provider.issuer);
      found = oidc.discovery(issuer, provider.clientId, provider.clientSecret, undefined, {
        // Plain http only for a provider on this machine (a local Keycloak, the tests).
        execute: isLoopback(issuer) ? [oidc.allowInsecureRequests] : [],
      });
      found.catch(() => this.discovered.delete(provider.id));
      this.discovered.set(provider.id, found);
    }
    return found;
  }
}

function isLoopback(url: URL): boolean {
  return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}
