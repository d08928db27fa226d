/**
 * The second half of an OpenID Connect sign-in. Protects against: a replayed or forged
 * redirect (the state is taken once; openid-client checks PKCE, the nonce in the ID token and
 * its signature, audience and issuer), a mix-up between providers (RFC 9207: `iss` must be the
 * issuer of the provider the state belongs to), and account takeover through an address
 * (an identity joins an existing account only when the provider and the account both say the
 * address is verified).
 */
import * as oidc from 'openid-client';
import { Types } from 'mongoose';
import { AppError } from '../../../errors/errors';
import { ErrorCode } from '../../../errors/error-codes';
import type { RequestMeta } from '../../../graphql/request-meta';
import type { Logger } from '../../../log/logger';
import type { MailOutbox } from '../../../mail/outbox';
import { newSignInFactorMail } from '../../../mail/templates';
import type { UserModel, UserRecord } from '../../users/user.model';
import type { LinkedIdentity } from '../../users/linked-identity';
import type { AuthPayload } from '../auth-payload.type';
import { normalizeEmail } from '../auth.inputs';
import { SecurityEventKind } from '../security-events/security-event.model';
import type { SecurityEvents } from '../security-events/security-events';
import type { SignInService } from '../sign-in.service';
import type { SecondFactorChallenges } from '../totp/second-factor-challenges';
import { identityLinkIdOf, type IdentityLinkModel } from './identity-link.model';
import type { OidcClients } from './oidc-clients';
import type { OidcFlowStore } from './oidc-flow-store';

/** `extensions.reason` of CONFLICT when an identity cannot join the account of its address. */
export const OidcConflictReason = {
  EMAIL_NOT_VERIFIED: 'EMAIL_NOT_VERIFIED',
  IDENTITY_TAKEN: 'IDENTITY_TAKEN',
} as const;

const DUPLICATE_KEY = 11000;

const refused = (message: string) => new AppError(ErrorCode.INVALID_TOKEN, message);

export class OidcCompleteService {
  constructor(
    private readonly models: { User: UserModel; IdentityLink: IdentityLinkModel },
    private readonly clients: OidcClients,
    private readonly flows: OidcFlowStore,
    private readonly challenges: SecondFactorChallenges,
    private readonly signIns: SignInService,
    private readonly events: SecurityEvents,
    private readonly outbox: MailOutbox,
    private readonly logger: Logger,
  ) {}

  async complete(
    state: string,
    code: string,
    iss: string | null | undefined,
    meta: RequestMeta,
  ): Promise<AuthPayload> {
    const flow = await this.flows.take(state);
    if (!flow) throw refused('This sign-in has expired or was already used; start again.');
    const provider = this.clients.find(flow.provider);
    if (!provider) throw refused('This sign-in provider is no longer offered.');
    const config = await this.clients.configurationOf(provider);
    const issuer = config.serverMetadata().issuer;
    if (iss && iss !== issuer) throw refused('The sign-in came back from another provider.');

    const callback = new URL(flow.redirectUri);
    callback.searchParams.set('code', code);
    callback.searchParams.set('state', state);
    callback.searchParams.set('iss', issuer);
    let claims: oidc.IDToken;
    try {
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: flow.codeVerifier,
        expectedState: state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      claims = tokens.claims()!;
    } catch (error) {
      // The provider's answer (an error code, never the code or tokens) is for the operator.
      this.logger.warn(
        { provider: provider.id, reason: (error as { code?: string }).code ?? String(error) },
        'OpenID sign-in refused',
      );
      throw refused(`The sign-in with ${provider.name} did not work; start again.`);
    }

    const user = await this.accountOf(provider.id, provider.name, claims, meta);
    if (user.closingAt) throw new AppError(ErrorCode.INVALID_CREDENTIALS);
    if (user.totpSecret) throw await this.challenges.challenge(String(user._id));
    await this.events.record(String(user._id), SecurityEventKind.SIGNED_IN_WITH_IDENTITY, meta, {
      provider: provider.id,
    });
    return this.signIns.signIn(user, meta);
  }

  /** The account the identity signs in: linked already, joined by a verified address, or new. */
  private async accountOf(
    providerId: string,
    providerName: string,
    claims: oidc.IDToken,
    meta: RequestMeta,
  ): Promise<UserRecord> {
    const linkId = identityLinkIdOf(providerId, claims.sub);
    const link = await this.models.IdentityLink.findById(linkId).lean();
    if (link) {
      const linked = await this.models.User.findById(link.userId).lean();
      if (linked) return linked;
      await this.models.IdentityLink.deleteOne({ _id: linkId }); // its account is gone
    }
    const email = typeof claims.email === 'string' ? normalizeEmail(claims.email) : '';
    if (!email) {
      throw new AppError(
        ErrorCode.BAD_USER_INPUT,
        `${providerName} did not share an email address; allow it and try again.`,
      );
    }
    const providerVerified = claims.email_verified === true;
    const identity: LinkedIdentity = {
      provider: providerId,
      subject: claims.sub,
      email,
      linkedAt: new Date(),
    };
    const existing = await this.models.User.findOne({ email }).lean();
    if (existing) {
      if (!providerVerified || !existing.emailVerified) {
        throw new AppError(
          ErrorCode.CONFLICT,
          `An account with this address exists. Sign in to it and link ${providerName} from its settings, or verify the address first.`,
          { reason: OidcConflictReason.EMAIL_NOT_VERIFIED },
        );
      }
      await this.insertLink(linkId, existing._id);
      const updated = await this.models.User.findOneAndUpdate(
        { _id: existing._id },
        { $push: { identities: identity } },
        { returnDocument: 'after' },
      ).lean();
      await this.events.record(String(existing._id), SecurityEventKind.IDENTITY_LINKED, meta, {
        provider: providerId,
      });
      this.outbox.enqueue(async () =>
        newSignInFactorMail(existing, `Sign-in with ${providerName}`),
      );
      return updated ?? existing;
    }
    const name = typeof claims.name === 'string' ? claims.name : '';
    const userId = new Types.ObjectId();
    await this.insertLink(linkId, userId);
    try {
      const created = await this.models.User.create({
        _id: userId,
        email,
        firstName: str(claims.given_name) || name.split(' ')[0] || email.split('@')[0],
        lastName: str(claims.family_name) || name.split(' ').slice(1).join(' ') || '-',
        emailVerified: providerVerified,
        identities: [identity],
      });
      return created.toObject();
    } catch (error) {
      await this.models.IdentityLink.deleteOne({ _id: linkId });
      // The address was registered meanwhile: the same answer as if it had been there.
      if ((error as { code?: number }).code === DUPLICATE_KEY) {
        throw new AppError(ErrorCode.CONFLICT, undefined, {
          reason: OidcConflictReason.EMAIL_NOT_VERIFIED,
        });
      }
      throw error;
    }
  }

  private async insertLink(linkId: string, userId: Types.ObjectId): Promise<void> {
    try {
      await this.models.IdentityLink.create({ _id: linkId, userId, linkedAt: new Date() });
    } catch (error) {
      if ((error as { code?: number }).code === DUPLICATE_KEY) {
        throw new AppError(ErrorCode.CONFLICT, 'This identity was just linked; sign in again.', {
          reason: OidcConflictReason.IDENTITY_TAKEN,
        });
      }
      throw error;
    }
  }
}

const str = (value: unknown) => (typeof value === 'string' ? value.trim() : '');
