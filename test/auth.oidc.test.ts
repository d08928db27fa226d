import { randomUUID } from 'node:crypto';
import { Types } from 'mongoose';
import {
  CompleteOidcSignInDocument,
  DeleteAccountDocument,
  MeIdentitiesDocument,
  SignInProvidersDocument,
  StartOidcSignInDocument,
  UnlinkIdentityDocument,
  VerifyEmailDocument,
  VerifySecondFactorDocument,
} from './gql/graphql';
import { registerUser, uniqueEmail } from './helpers/accounts';
import { errorCode, type HttpResult } from './helpers/http-client';
import {
  OIDC_CLIENT_ID,
  OIDC_CLIENT_SECRET,
  TestOidcProvider,
  type ProviderAccount,
} from './helpers/oidc-provider';
import { tokenFromMail } from './helpers/smtp-capture';
import { TestApp } from './helpers/test-app';
import { useClusterPair } from './helpers/cluster-pair';
import { codeAt, enrolledUser } from './helpers/two-factor';

const REDIRECT_URI = 'http://app.test/auth/callback';

describe('single sign-on with OpenID Connect', () => {
  let provider: TestOidcProvider;
  let app: TestApp;

  beforeAll(async () => {
    provider = await TestOidcProvider.start([REDIRECT_URI]);
    app = await TestApp.start({
      env: {
        OIDC_PROVIDERS: JSON.stringify([
          {
            id: 'idp',
            name: 'Test IdP',
            issuer: provider.issuer,
            clientId: OIDC_CLIENT_ID,
            clientSecret: OIDC_CLIENT_SECRET,
            scopes: ['openid', 'email', 'profile'],
          },
        ]),
        OIDC_REDIRECT_URIS: REDIRECT_URI,
      },
    });
  });
  afterAll(async () => {
    await app?.stop();
    await provider?.stop();
  });

  /** An account at the provider; returns its `sub`. */
  const providerAccount = (account: ProviderAccount) => {
    const sub = `sub-${randomUUID()}`;
    provider.accounts.set(sub, { given_name: 'Ada', family_name: 'Lovelace', ...account });
    return sub;
  };

  const start = async () =>
    (await app.http().data(StartOidcSignInDocument, { provider: 'idp', redirectUri: REDIRECT_URI }))
      .startOidcSignIn;

  /** The browser's round trip: our start, the provider's pages, back at the redirect URI. */
  const signInAtProvider = async (sub: string, tamper?: (url: URL) => void) => {
    const { authorizationUrl, state } = await start();
    const url = new URL(authorizationUrl);
    tamper?.(url);
    const back = await provider.driveToRedirect(url.href, sub, REDIRECT_URI);
    return {
      state,
      returnedState: back.searchParams.get('state')!,
      code: back.searchParams.get('code')!,
      iss: back.searchParams.get('iss'),
    };
  };

  const complete = (args: { state: string; code: string; iss?: string | null }) =>
    app.http().request(CompleteOidcSignInDocument, args) as Promise<
      HttpResult<{ completeOidcSignIn: { accessToken: string; user: { email: string } } }>
    >;

  it('should list the configured providers', async () => {
    const { signInProviders } = await app.http().data(SignInProvidersDocument, {});
    expect(signInProviders).toEqual([{ id: 'idp', name: 'Test IdP' }]);
  });

  it('should sign up through the whole code flow, and sign the same identity in again', async () => {
    const email = uniqueEmail('sso');
    const sub = providerAccount({ email, email_verified: true });
    const first = await signInAtProvider(sub);
    expect(first.returnedState).toBe(first.state);
    expect(first.iss).toBe(provider.issuer);
    const created = await complete(first);
    expect(created.errors).toBeUndefined();
    const token = created.data!.completeOidcSignIn.accessToken;
    const { me } = await app.http().data(MeIdentitiesDocument, {}, { token });
    expect(me).toMatchObject({ email, emailVerified: true, role: 'USER' });
    expect(me.identities).toEqual([{ provider: 'idp', email, linkedAt: expect.any(String) }]);

    // Without iss on the redirect, the provider of the state is expected (and it matches).
    const again = await signInAtProvider(sub);
    const signedIn = await complete({ state: again.state, code: again.code });
    expect(signedIn.data!.completeOidcSignIn.user.email).toBe(email);
  });

  it('should refuse a state it never issued, and an iss from another issuer', async () => {
    const sub = providerAccount({ email: uniqueEmail('sso'), email_verified: true });
    const flow = await signInAtProvider(sub);
    expect(errorCode(await complete({ ...flow, state: 'forged-state' }))).toBe('INVALID_TOKEN');
    expect(errorCode(await complete({ ...flow, iss: 'https://evil.example' }))).toBe(
      'INVALID_TOKEN',
    );
    // The state is single use: the mix-up attempt spent it.
    expect(errorCode(await complete(flow))).toBe('INVALID_TOKEN');
  });

  it("should refuse a code completed with another flow's state (PKCE binds the code)", async () => {
    const sub = providerAccount({ email: uniqueEmail('sso'), email_verified: true });
    const victim = await signInAtProvider(sub);
    const attacker = await start();
    expect(errorCode(await complete({ state: attacker.state, code: victim.code }))).toBe(
      'INVALID_TOKEN',
    );
  });

  it('should refuse a replayed code', async () => {
    const sub = providerAccount({ email: uniqueEmail('sso'), email_verified: true });
    const flow = await signInAtProvider(sub);
    expect((await complete(flow)).errors).toBeUndefined();
    expect(errorCode(await complete(flow))).toBe('INVALID_TOKEN');
  });

  it('should refuse an ID token whose nonce is not the one of the flow', async () => {
    const sub = providerAccount({ email: uniqueEmail('sso'), email_verified: true });
    const flow = await signInAtProvider(sub, (url) =>
      url.searchParams.set('nonce', 'a-nonce-the-server-never-made'),
    );
    expect(errorCode(await complete(flow))).toBe('INVALID_TOKEN');
  });

  it('should not join an account whose address is unverified, nor on an unverified claim', async () => {
    const local = await registerUser(app);
    const verifiedAtProvider = providerAccount({ email: local.email, email_verified: true });
    const refused = await complete(await signInAtProvider(verifiedAtProvider));
    expect(errorCode(refused)).toBe('CONFLICT');
    expect(refused.errors![0]!.extensions!.reason).toBe('EMAIL_NOT_VERIFIED');

    // Verified here, but the provider does not vouch for the address.
    await app.mail.waitFor((mail) => mail.to.includes(local.email));
    const token = tokenFromMail(app.mail.to(local.email)[0]!, '/verify-email');
    await app.http().data(VerifyEmailDocument, { token });
    const unverifiedAtProvider = providerAccount({ email: local.email, email_verified: false });
    expect(errorCode(await complete(await signInAtProvider(unverifiedAtProvider)))).toBe(
      'CONFLICT',
    );

    // Both sides verified: the identity joins the account, and the user is told by mail.
    const linked = await complete(await signInAtProvider(verifiedAtProvider));
    expect(linked.data!.completeOidcSignIn.user.email).toBe(local.email);
    await app.mail.waitFor(
      (mail) => mail.to.includes(local.email) && /new way to sign in/i.test(mail.subject),
    );
    const { me } = await app
      .http()
      .data(MeIdentitiesDocument, {}, { token: local.auth.accessToken });
    expect(me.identities.map((identity) => identity.provider)).toEqual(['idp']);
  });

  it('should ask for the second factor when the account has two-step sign-in', async () => {
    const user = await enrolledUser(app);
    const token = tokenFromMail(
      await app.mail.waitFor(
        (mail) => mail.to.includes(user.email) && /confirm/i.test(mail.subject),
      ),
      '/verify-email',
    );
    await app.http().data(VerifyEmailDocument, { token });
    const sub = providerAccount({ email: user.email, email_verified: true });
    const result = await complete(await signInAtProvider(sub));
    expect(errorCode(result)).toBe('SECOND_FACTOR_REQUIRED');
    const challenge = result.errors![0]!.extensions!.challenge as string;
    const { verifySecondFactor } = await app.http().data(VerifySecondFactorDocument, {
      input: { challenge, totpCode: codeAt(user.secret, 1) },
    });
    expect(verifySecondFactor.user.email).toBe(user.email);
  });

  it('should never unlink the only way into an account', async () => {
    const email = uniqueEmail('sso');
    const sub = providerAccount({ email, email_verified: true });
    const signedIn = await complete(await signInAtProvider(sub));
    const token = signedIn.data!.completeOidcSignIn.accessToken;
    const refused = await app
      .http()
      .request(UnlinkIdentityDocument, { provider: 'idp' }, { token });
    expect(errorCode(refused)).toBe('CONFLICT');
    expect(refused.errors![0]!.extensions!.reason).toBe('LAST_WAY_IN');
    expect(
      errorCode(await app.http().request(UnlinkIdentityDocument, { provider: 'other' }, { token })),
    ).toBe('NOT_FOUND');
  });

  it('should unlink an identity from an account that has a password', async () => {
    const local = await registerUser(app);
    await app.mail.waitFor((mail) => mail.to.includes(local.email));
    await app.http().data(VerifyEmailDocument, {
      token: tokenFromMail(app.mail.to(local.email)[0]!, '/verify-email'),
    });
    const sub = providerAccount({ email: local.email, email_verified: true });
    expect((await complete(await signInAtProvider(sub))).errors).toBeUndefined();
    const { unlinkIdentity } = await app
      .http()
      .data(UnlinkIdentityDocument, { provider: 'idp' }, { token: local.auth.accessToken });
    expect(unlinkIdentity.identities).toEqual([]);
    // The identity no longer signs that account in: with the address taken, it is a conflict.
    await app.app.models.User.updateOne({ email: local.email }, { $set: { emailVerified: false } });
    expect(errorCode(await complete(await signInAtProvider(sub)))).toBe('CONFLICT');
  });

  it("should take a deleted account's identity links and second factors with it", async () => {
    const user = await enrolledUser(app);
    await app.http().data(VerifyEmailDocument, {
      token: tokenFromMail(
        await app.mail.waitFor(
          (mail) => mail.to.includes(user.email) && /confirm/i.test(mail.subject),
        ),
        '/verify-email',
      ),
    });
    const sub = providerAccount({ email: user.email, email_verified: true });
    expect(errorCode(await complete(await signInAtProvider(sub)))).toBe('SECOND_FACTOR_REQUIRED');
    await app
      .http()
      .data(DeleteAccountDocument, { password: user.password }, { token: user.auth.accessToken });
    const userId = new Types.ObjectId(user.auth.user.id);
    for (const model of [app.app.models.RecoveryCode, app.app.models.IdentityLink]) {
      expect(await (model as typeof app.app.models.RecoveryCode).countDocuments({ userId })).toBe(
        0,
      );
    }
    // The identity now makes a new account of its own, without a second factor.
    const fresh = await complete(await signInAtProvider(sub));
    expect(fresh.data!.completeOidcSignIn.user.email).toBe(user.email);
  });

  it('should refuse a redirect URI that is not configured, and an unknown provider', async () => {
    const wrongUri = await app.http().request(StartOidcSignInDocument, {
      provider: 'idp',
      redirectUri: 'https://evil.example/cb',
    });
    expect(errorCode(wrongUri)).toBe('BAD_USER_INPUT');
    const unknown = await app
      .http()
      .request(StartOidcSignInDocument, { provider: 'nope', redirectUri: REDIRECT_URI });
    expect(errorCode(unknown)).toBe('BAD_USER_INPUT');
  });
});

describe('single sign-on across two instances (Redis)', () => {
  let provider: TestOidcProvider;
  beforeAll(async () => {
    provider = await TestOidcProvider.start([REDIRECT_URI]);
  });
  afterAll(async () => {
    await provider?.stop();
  });
  // Read when the pair starts (after the provider above has its address).
  const env = {
    OIDC_REDIRECT_URIS: REDIRECT_URI,
    get OIDC_PROVIDERS() {
      return JSON.stringify([
        {
          id: 'idp',
          name: 'Test IdP',
          issuer: provider.issuer,
          clientId: OIDC_CLIENT_ID,
          clientSecret: OIDC_CLIENT_SECRET,
        },
      ]);
    },
  };
  const pair = useClusterPair({ env });

  it('should complete on instance B a sign-in started on instance A, once', async () => {
    const email = uniqueEmail('sso');
    const sub = `sub-${randomUUID()}`;
    provider.accounts.set(sub, { email, email_verified: true, given_name: 'Grace' });
    const { startOidcSignIn } = await pair.a
      .http()
      .data(StartOidcSignInDocument, { provider: 'idp', redirectUri: REDIRECT_URI });
    const back = await provider.driveToRedirect(
      startOidcSignIn.authorizationUrl,
      sub,
      REDIRECT_URI,
    );
    const args = {
      state: back.searchParams.get('state')!,
      code: back.searchParams.get('code')!,
      iss: back.searchParams.get('iss'),
    };
    const { completeOidcSignIn } = await pair.b.http().data(CompleteOidcSignInDocument, args);
    expect(completeOidcSignIn.user.email).toBe(email);
    // Taken once, whichever instance is asked next.
    expect(errorCode(await pair.a.http().request(CompleteOidcSignInDocument, args))).toBe(
      'INVALID_TOKEN',
    );
    // The flow state sits in Redis only hashed.
    expect(JSON.stringify(await pair.redis.admin.keys('*'))).not.toContain(args.state);
  });
});
