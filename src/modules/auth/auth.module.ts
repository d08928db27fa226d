import type { Config } from '../../config/config';
import { instancesOf, type AppModule } from '../../graphql/app-module';
import type { Logger } from '../../log/logger';
import type { MailOutbox } from '../../mail/outbox';
import type { PalaverPubSub } from '../../pubsub/pubsub';
import type { RedisClients } from '../../redis/redis-clients';
import {
  PubSubSessionEndedFeed,
  RedisSessionEndedFeed,
  type SessionEndedFeed,
} from './session-ended';
import type { RateLimits } from '../../rate-limit/rate-limits';
import type { Connection } from 'mongoose';
import { bindModel } from '../../db/models';
import type { UsersModels } from '../users/users.module';
import { EmailTokenRecord, type EmailTokenModel } from './email-token.model';
import { SessionRecord, type SessionModel } from './session.model';
import { AccountClosure } from './account-closure';
import { AccessTokens } from './access-token';
import { SignInService } from './sign-in.service';
import { AuthResolver } from './auth.resolver';
import { Authenticator } from './authenticator';
import { EmailTokens } from './email-tokens';
import { EmailVerificationResolver } from './email-verification.resolver';
import { EmailVerificationService } from './email-verification.service';
import { EmailVerifiedGuard } from './email-verified.guard';
import { LoginService } from './login.service';
import { PasswordChangeService } from './password-change.service';
import { PasswordHasher } from './password-hasher';
import { PasswordResetService } from './password-reset.service';
import { PasswordResolver } from './password.resolver';
import { RegistrationService } from './registration.service';
import { SessionService } from './session.service';
import { SessionsResolver } from './sessions.resolver';
import { TokenRefreshService } from './token-refresh.service';
import { PasswordConfirmation } from './password-confirmation';
import {
  SecurityEventRecord,
  type SecurityEventModel,
} from './security-events/security-event.model';
import { SecurityEvents } from './security-events/security-events';
import { RecoveryCodeRecord, type RecoveryCodeModel } from './totp/recovery-code.model';
import { RecoveryCodes } from './totp/recovery-codes';
import {
  SecondFactorChallengeRecord,
  type SecondFactorChallengeModel,
} from './totp/second-factor-challenge.model';
import { SecondFactorChallenges } from './totp/second-factor-challenges';
import { SecondFactorCheck } from './totp/second-factor-check';
import { SecondFactorSignInService } from './totp/second-factor-sign-in.service';
import { SecretBox } from './totp/secret-box';
import { TotpEnrollmentService } from './totp/totp-enrollment.service';
import { TotpResolver } from './totp/totp.resolver';
import { TwoFactorDisableService } from './totp/two-factor-disable.service';
import { IdentityLinkRecord, type IdentityLinkModel } from './oidc/identity-link.model';
import { IdentityUnlinkService } from './oidc/identity-unlink.service';
import { OidcClients } from './oidc/oidc-clients';
import { OidcCompleteService } from './oidc/oidc-complete.service';
import {
  InMemoryOidcFlowStore,
  RedisOidcFlowStore,
  type OidcFlowStore,
} from './oidc/oidc-flow-store';
import { OidcStartService } from './oidc/oidc-start.service';
import { OidcResolver } from './oidc/oidc.resolver';
import {
  InMemoryCeremonyStore,
  RedisCeremonyStore,
  type CeremonyStore,
} from './passkeys/ceremony-store';
import { PasskeyRecord, type PasskeyModel } from './passkeys/passkey.model';
import { PasskeyListService } from './passkeys/passkey-list.service';
import { PasskeyRegistrationService } from './passkeys/passkey-registration.service';
import { PasskeySignInService } from './passkeys/passkey-sign-in.service';
import { PasskeysResolver } from './passkeys/passkeys.resolver';

/** The auth feature's part of the schema; the module gives an instance of each. */
export const AUTH_RESOLVERS = [
  AuthResolver,
  SessionsResolver,
  EmailVerificationResolver,
  PasswordResolver,
  TotpResolver,
  OidcResolver,
  PasskeysResolver,
] as const;

/** The auth feature's collections. */
export interface AuthModels {
  Session: SessionModel;
  EmailToken: EmailTokenModel;
  SecondFactorChallenge: SecondFactorChallengeModel;
  RecoveryCode: RecoveryCodeModel;
  SecurityEvent: SecurityEventModel;
  IdentityLink: IdentityLinkModel;
  Passkey: PasskeyModel;
}

export function bindAuthModels(connection: Connection): AuthModels {
  return {
    Session: bindModel(connection, 'Session', SessionRecord),
    EmailToken: bindModel(connection, 'EmailToken', EmailTokenRecord),
    SecondFactorChallenge: bindModel(
      connection,
      'SecondFactorChallenge',
      SecondFactorChallengeRecord,
    ),
    RecoveryCode: bindModel(connection, 'RecoveryCode', RecoveryCodeRecord),
    SecurityEvent: bindModel(connection, 'SecurityEvent', SecurityEventRecord),
    IdentityLink: bindModel(connection, 'IdentityLink', IdentityLinkRecord),
    Passkey: bindModel(connection, 'Passkey', PasskeyRecord),
  };
}

/** Expired sessions are deleted this often (FerretDB has no TTL indexes). */
const SESSION_SWEEP_INTERVAL_MS = 60 * 60_000;

export interface AuthModuleDependencies {
  config: Config;
  logger: Logger;
  /** Its own, and the users' (sign-in reads and writes accounts). */
  models: AuthModels & UsersModels;
  pubSub: PalaverPubSub;
  /** Set when REDIS_URL is: ended sessions then reach every instance over a Redis Stream. */
  redis?: RedisClients;
  rateLimits: RateLimits;
  outbox: MailOutbox;
  /** How often expired sessions are deleted (tests shorten it to see it act). */
  sessionSweepMs?: number;
}

export interface AuthModule extends AppModule {
  /** Turns a bearer token into a viewer, for HTTP requests and WebSocket connections. */
  authenticator: Authenticator;
  /** Refuses chat to unverified users when REQUIRE_EMAIL_VERIFICATION is on. */
  verifiedGuard: EmailVerifiedGuard;
  /** Every ended session, from any instance: the WebSocket gateway closes their sockets. */
  sessionsEnded: SessionEndedFeed;
  /** Password check and sign-out of every device, for deleting an account. */
  accountClosure: AccountClosure;
}

/** Accounts and sessions: register, login, refresh, email verification, passwords. */
export function createAuthModule(deps: AuthModuleDependencies): AuthModule {
  const { config, logger, models, pubSub, redis, rateLimits, outbox } = deps;
  const sessionsEnded: SessionEndedFeed = redis
    ? new RedisSessionEndedFeed(redis.commands, redis.blocking, logger)
    : new PubSubSessionEndedFeed(pubSub);
  const hasher = new PasswordHasher();
  const accessTokens = new AccessTokens(config.auth);
  const sessions = new SessionService(models, config.auth, sessionsEnded);
  const stopSessionListener = sessions.listenForEndedSessions((error) =>
    logger.error({ err: error }, 'session event listener stopped'),
  );
  const emailTokens = new EmailTokens(models);
  const signIns = new SignInService(sessions, accessTokens);
  const verification = new EmailVerificationService(
    models,
    emailTokens,
    outbox,
    rateLimits,
    config,
  );

  const events = new SecurityEvents(models);
  const passwordConfirmation = new PasswordConfirmation(models, hasher, rateLimits);
  const secretBox = new SecretBox(config.auth.secretKey);
  const recoveryCodes = new RecoveryCodes(models, config.auth.secretKey);
  const challenges = new SecondFactorChallenges(models);
  const secondFactorCheck = new SecondFactorCheck(models, secretBox, recoveryCodes, rateLimits);

  const oidcClients = new OidcClients(config.oidc.providers);
  const oidcFlows: OidcFlowStore = redis
    ? new RedisOidcFlowStore(redis.commands)
    : new InMemoryOidcFlowStore();

  const ceremonies: CeremonyStore = redis
    ? new RedisCeremonyStore(redis.commands)
    : new InMemoryCeremonyStore();

  // A sweep that fails (the database away) is logged, and the next one tries again; one at a time.
  let sweeping = false;
  const sweeper = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    Promise.all([sessions.sweepExpired(), challenges.sweepExpired()])
      .catch((error) => logger.warn({ err: error }, 'session sweep failed; the next one retries'))
      .finally(() => (sweeping = false));
  }, deps.sessionSweepMs ?? SESSION_SWEEP_INTERVAL_MS);
  sweeper.unref();

  return {
    authenticator: new Authenticator(accessTokens, sessions),
    sessionsEnded,
    verifiedGuard: new EmailVerifiedGuard(models, config.auth),
    accountClosure: new AccountClosure(models, hasher, sessions, rateLimits),
    resolvers: instancesOf(AUTH_RESOLVERS, [
      new AuthResolver(
        new RegistrationService(models, hasher, signIns, verification, rateLimits),
        new LoginService(models, hasher, signIns, rateLimits, challenges),
        new TokenRefreshService(models, sessions, signIns),
        sessions,
      ),
      new SessionsResolver(sessions),
      new EmailVerificationResolver(verification),
      new PasswordResolver(
        new PasswordResetService(models, emailTokens, hasher, sessions, outbox, rateLimits, config),
        new PasswordChangeService(models, hasher, sessions, outbox, rateLimits),
      ),
      new TotpResolver(
        new TotpEnrollmentService(
          models,
          passwordConfirmation,
          secretBox,
          secondFactorCheck,
          recoveryCodes,
          events,
          outbox,
        ),
        new SecondFactorSignInService(models, challenges, secondFactorCheck, signIns, events),
        new TwoFactorDisableService(
          models,
          passwordConfirmation,
          secondFactorCheck,
          recoveryCodes,
          challenges,
          sessions,
          events,
          outbox,
        ),
      ),
      new OidcResolver(
        new OidcStartService(oidcClients, oidcFlows, config.oidc.redirectUris),
        new OidcCompleteService(
          models,
          oidcClients,
          oidcFlows,
          challenges,
          signIns,
          events,
          outbox,
          logger,
        ),
        new IdentityUnlinkService(models, events),
      ),
      new PasskeysResolver(
        new PasskeyRegistrationService(models, ceremonies, config.webauthn, events, outbox),
        new PasskeySignInService(models, ceremonies, config.webauthn, signIns, events),
        new PasskeyListService(models, events),
      ),
    ]),
    drain: () => clearInterval(sweeper),
    stop: async () => {
      await stopSessionListener();
      sessionsEnded.close();
    },
  };
}
