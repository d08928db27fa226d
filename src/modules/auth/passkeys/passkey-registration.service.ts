/**
 * Adding a passkey to a signed-in account (WebAuthn registration through @simplewebauthn/server).
 * Protects against a registration replayed or finished by another user (the challenge is single
 * use and bound to the user who started it) and against credentials from another site (the
 * origin and RP ID are checked against WEBAUTHN_ORIGINS / WEBAUTHN_RP_ID).
 */
import {
  generateRegistrationOptions,
  verifyRegistrationResponse,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { Types } from 'mongoose';
import type { Config } from '../../../config/config';
import { AppError, NotFoundError } from '../../../errors/errors';
import { ErrorCode } from '../../../errors/error-codes';
import type { Viewer } from '../../../graphql/context';
import type { RequestMeta } from '../../../graphql/request-meta';
import type { MailOutbox } from '../../../mail/outbox';
import { newSignInFactorMail } from '../../../mail/templates';
import type { UserModel } from '../../users/user.model';
import { SecurityEventKind } from '../security-events/security-event.model';
import type { SecurityEvents } from '../security-events/security-events';
import { challengeOf, type CeremonyStore } from './ceremony-store';
import type { PasskeyModel } from './passkey.model';
import { toPasskey, type Passkey } from './passkey.type';

const MAX_NAME_LENGTH = 100;
const DEFAULT_NAME = 'Passkey';

export class PasskeyRegistrationService {
  constructor(
    private readonly models: { User: UserModel; Passkey: PasskeyModel },
    private readonly ceremonies: CeremonyStore,
    private readonly webauthn: Config['webauthn'],
    private readonly events: SecurityEvents,
    private readonly outbox: MailOutbox,
  ) {}

  async start(viewer: Viewer): Promise<Record<string, unknown>> {
    const user = await this.models.User.findById(viewer.userId, { email: 1 }).lean();
    if (!user) throw new NotFoundError('User');
    const existing = await this.models.Passkey.find({
      userId: new Types.ObjectId(viewer.userId),
    }).lean();
    const options = await generateRegistrationOptions({
      rpName: this.webauthn.rpName,
      rpID: this.webauthn.rpId,
      userName: user.email,
      userID: new Uint8Array(Buffer.from(viewer.userId, 'utf8')),
      attestationType: 'none',
      // A discoverable credential, so it can sign in with no email typed.
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
      excludeCredentials: existing.map((passkey) => ({ id: passkey._id })),
    });
    await this.ceremonies.put(options.challenge, { kind: 'register', userId: viewer.userId });
    return options as unknown as Record<string, unknown>;
  }

  async finish(
    viewer: Viewer,
    response: Record<string, unknown>,
    name: string | null | undefined,
    meta: RequestMeta,
  ): Promise<Passkey> {
    const challenge = challengeOf(response);
    const ceremony = challenge ? await this.ceremonies.take(challenge) : null;
    if (!ceremony || ceremony.kind !== 'register' || ceremony.userId !== viewer.userId) {
      throw new AppError(ErrorCode.INVALID_TOKEN, 'Start the passkey registration again.');
    }
    const verified = await verifyRegistrationResponse({
      response: response as unknown as RegistrationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: this.webauthn.origins,
      expectedRPID: this.webauthn.rpId,
      requireUserVerification: false,
    }).catch(() => null);
    if (!verified?.verified || !verified.registrationInfo) {
      throw new AppError(ErrorCode.BAD_USER_INPUT, 'The passkey could not be verified.');
    }
    const { credential } = verified.registrationInfo;
    const record = {
      _id: credential.id,
      userId: new Types.ObjectId(viewer.userId),
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      transports: credential.transports ?? [],
      name: (name ?? '').trim().slice(0, MAX_NAME_LENGTH) || DEFAULT_NAME,
      createdAt: new Date(),
    };
    try {
      await this.models.Passkey.create(record);
    } catch (error) {
      if ((error as { code?: number }).code === 11000) {
        throw new AppError(ErrorCode.CONFLICT, 'This passkey is registered already.');
      }
      throw error;
    }
    await this.events.record(viewer.userId, SecurityEventKind.PASSKEY_ADDED, meta);
    const user = await this.models.User.findById(viewer.userId, { email: 1, firstName: 1 }).lean();
    if (user) this.outbox.enqueue(async () => newSignInFactorMail(user, 'A passkey'));
    return toPasskey(record);
  }
}
