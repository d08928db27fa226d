/**
 * Signing in with a passkey (WebAuthn authentication). Protects against replay (the challenge is
 * single use), cloned authenticators (the signature counter must move past the stored one; the
 * write is conditional, so two sign-ins with one counter value cannot both pass), and account
 * enumeration (an unknown email gets options like any other). No second factor follows: a
 * passkey is possession and, with user verification, a second factor itself.
 */
import {
  generateAuthenticationOptions,
  verifyAuthenticationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
} from '@simplewebauthn/server';
import { Types } from 'mongoose';
import type { Config } from '../../../config/config';
import { updateByIdIf } from '../../../db/by-id';
import { AppError } from '../../../errors/errors';
import { ErrorCode } from '../../../errors/error-codes';
import type { RequestMeta } from '../../../graphql/request-meta';
import type { UserModel } from '../../users/user.model';
import type { AuthPayload } from '../auth-payload.type';
import { normalizeEmail } from '../auth.inputs';
import { SecurityEventKind } from '../security-events/security-event.model';
import type { SecurityEvents } from '../security-events/security-events';
import type { SignInService } from '../sign-in.service';
import { challengeOf, type CeremonyStore } from './ceremony-store';
import type { PasskeyModel } from './passkey.model';

const refused = () => new AppError(ErrorCode.INVALID_CREDENTIALS, 'The passkey was not accepted.');

export class PasskeySignInService {
  constructor(
    private readonly models: { User: UserModel; Passkey: PasskeyModel },
    private readonly ceremonies: CeremonyStore,
    private readonly webauthn: Config['webauthn'],
    private readonly signIns: SignInService,
    private readonly events: SecurityEvents,
  ) {}

  async start(email: string | null | undefined): Promise<Record<string, unknown>> {
    let allowCredentials: { id: string; transports?: AuthenticatorTransport[] }[] = [];
    if (email) {
      const user = await this.models.User.findOne(
        { email: normalizeEmail(email) },
        { _id: 1 },
      ).lean();
      const passkeys = user
        ? await this.models.Passkey.find({ userId: new Types.ObjectId(String(user._id)) }).lean()
        : [];
      allowCredentials = passkeys.map((passkey) => ({
        id: passkey._id,
        transports: passkey.transports as AuthenticatorTransport[],
      }));
    }
    const options = await generateAuthenticationOptions({
      rpID: this.webauthn.rpId,
      allowCredentials,
      userVerification: 'preferred',
    });
    await this.ceremonies.put(options.challenge, { kind: 'sign-in' });
    return options as unknown as Record<string, unknown>;
  }

  async finish(response: Record<string, unknown>, meta: RequestMeta): Promise<AuthPayload> {
    const challenge = challengeOf(response);
    const ceremony = challenge ? await this.ceremonies.take(challenge) : null;
    if (!ceremony || ceremony.kind !== 'sign-in') {
      throw new AppError(ErrorCode.INVALID_TOKEN, 'Start the passkey sign-in again.');
    }
    const id = typeof response.id === 'string' ? response.id : '';
    const passkey = id ? await this.models.Passkey.findById(id).lean() : null;
    if (!passkey) throw refused();
    const verified = await verifyAuthenticationResponse({
      response: response as unknown as AuthenticationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: this.webauthn.origins,
      expectedRPID: this.webauthn.rpId,
      credential: {
        id: passkey._id,
        publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')),
        counter: passkey.counter,
        transports: passkey.transports as AuthenticatorTransport[],
      },
      requireUserVerification: false,
    }).catch(() => null);
    const userId = String(passkey.userId);
    if (!verified?.verified) {
      await this.events.record(userId, SecurityEventKind.PASSKEY_REFUSED, meta);
      throw refused();
    }
    const { newCounter } = verified.authenticationInfo;
    // Authenticators without a counter always send 0; any other must move forward, once.
    const stored = await updateByIdIf(
      this.models.Passkey,
      passkey._id,
      newCounter === 0 && passkey.counter === 0 ? {} : { counter: { atMost: newCounter - 1 } },
      { $set: { counter: newCounter, lastUsedAt: new Date() } },
    );
    if (!stored) {
      await this.events.record(userId, SecurityEventKind.PASSKEY_REFUSED, meta);
      throw refused();
    }
    const user = await this.models.User.findById(userId).lean();
    if (!user || user.closingAt) throw refused();
    await this.events.record(userId, SecurityEventKind.SIGNED_IN_WITH_PASSKEY, meta);
    return this.signIns.signIn(user, meta);
  }
}
