import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type CDPSession, type Page } from 'puppeteer-core';
import {
  FinishPasskeyRegistrationDocument,
  FinishPasskeySignInDocument,
  PasskeysDocument,
  RemovePasskeyDocument,
  StartPasskeyRegistrationDocument,
  StartPasskeySignInDocument,
} from './gql/graphql';
import { registerUser, type TestUser } from './helpers/accounts';
import { errorCode } from './helpers/http-client';
import { TestApp } from './helpers/test-app';

/**
 * Passkeys in a real headless Chromium with the DevTools virtual authenticator: the page the
 * test serves on localhost calls navigator.credentials with the server's options, as a frontend
 * does, and hands the response back to the server.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`passkey browser tests skipped: no Chromium at ${CHROMIUM}`);

/** The frontend's part: base64url ↔ bytes around navigator.credentials (no library). */
const PAGE = `<!doctype html><title>passkeys</title><script>
const dec = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4)), (c) => c.charCodeAt(0)).buffer;
const enc = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
window.register = async (o) => {
  const c = await navigator.credentials.create({ publicKey: { ...o, challenge: dec(o.challenge),
    user: { ...o.user, id: dec(o.user.id) },
    excludeCredentials: (o.excludeCredentials || []).map((x) => ({ ...x, id: dec(x.id) })) } });
  return { id: c.id, rawId: enc(c.rawId), type: c.type, clientExtensionResults: {},
    response: { clientDataJSON: enc(c.response.clientDataJSON),
      attestationObject: enc(c.response.attestationObject), transports: c.response.getTransports() } };
};
window.signIn = async (o) => {
  const c = await navigator.credentials.get({ publicKey: { ...o, challenge: dec(o.challenge),
    allowCredentials: (o.allowCredentials || []).map((x) => ({ ...x, id: dec(x.id) })) } });
  return { id: c.id, rawId: enc(c.rawId), type: c.type, clientExtensionResults: {},
    response: { clientDataJSON: enc(c.response.clientDataJSON),
      authenticatorData: enc(c.response.authenticatorData), signature: enc(c.response.signature),
      userHandle: c.response.userHandle ? enc(c.response.userHandle) : undefined } };
};
</script>`;

(haveChromium ? describe : describe.skip)('passkeys in a browser', () => {
  let site: Server;
  let origin: string;
  let app: TestApp;
  let browser: Browser;
  let profile: string;
  let page: Page;
  let cdp: CDPSession;
  let authenticatorId: string;

  beforeAll(async () => {
    site = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(PAGE);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    origin = `http://localhost:${(site.address() as AddressInfo).port}`;
    app = await TestApp.start({ env: { WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: origin } });
    profile = await mkdtemp(path.join(tmpdir(), 'palaver-chromium-'));
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir: profile,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    page = await browser.newPage();
    await page.goto(origin);
    cdp = await page.createCDPSession();
    await cdp.send('WebAuthn.enable');
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
      },
    }));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await new Promise((resolve) => site?.close(resolve));
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  const register = async (user: TestUser, name?: string) => {
    const token = user.auth.accessToken;
    const { startPasskeyRegistration } = await app
      .http()
      .data(StartPasskeyRegistrationDocument, {}, { token });
    const response = await page.evaluate(
      (options) => (globalThis as any).register(options),
      startPasskeyRegistration,
    );
    return app.http().request(FinishPasskeyRegistrationDocument, { response, name }, { token });
  };

  const signIn = async (email?: string) => {
    const { startPasskeySignIn } = await app
      .http()
      .data(StartPasskeySignInDocument, { email: email ?? null });
    const response = await page.evaluate(
      (options) => (globalThis as any).signIn(options),
      startPasskeySignIn,
    );
    return {
      response,
      result: await app.http().request(FinishPasskeySignInDocument, { response }),
    };
  };

  let owner: TestUser;

  it('should register a passkey for a signed-in user, and list it', async () => {
    owner = await registerUser(app);
    const registered = await register(owner, 'Laptop');
    expect(registered.errors).toBeUndefined();
    const { passkeys } = await app
      .http()
      .data(PasskeysDocument, {}, { token: owner.auth.accessToken });
    expect(passkeys).toEqual([expect.objectContaining({ name: 'Laptop', lastUsedAt: null })]);
    await app.mail.waitFor(
      (mail) => mail.to.includes(owner.email) && /new way to sign in/i.test(mail.subject),
    );
  });

  it('should sign in with the passkey given the email, with no second step', async () => {
    const { result } = await signIn(owner.email);
    expect(result.errors).toBeUndefined();
    expect((result.data as any).finishPasskeySignIn.user.email).toBe(owner.email);
  });

  it('should sign in with a discoverable passkey and no email', async () => {
    const { result } = await signIn();
    expect((result.data as any).finishPasskeySignIn.user.email).toBe(owner.email);
  });

  it('should refuse a replayed sign-in response', async () => {
    const { response } = await signIn(owner.email);
    const again = await app.http().request(FinishPasskeySignInDocument, { response });
    expect(errorCode(again)).toBe('INVALID_TOKEN');
  });

  it('should refuse a cloned credential whose counter is behind', async () => {
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    const snapshot = credentials[0]!;
    expect((await signIn(owner.email)).result.errors).toBeUndefined();
    // The clone: the same key, with the counter as it was before that sign-in.
    await cdp.send('WebAuthn.removeCredential', {
      authenticatorId,
      credentialId: snapshot.credentialId,
    });
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: snapshot });
    const { result } = await signIn(owner.email);
    expect(errorCode(result)).toBe('INVALID_CREDENTIALS');
  });

  it("should answer NOT_FOUND for another user's passkey, and remove one's own", async () => {
    const { passkeys } = await app
      .http()
      .data(PasskeysDocument, {}, { token: owner.auth.accessToken });
    const stranger = await registerUser(app);
    const refused = await app
      .http()
      .request(
        RemovePasskeyDocument,
        { id: passkeys[0]!.id },
        { token: stranger.auth.accessToken },
      );
    expect(errorCode(refused)).toBe('NOT_FOUND');
    const removed = await app
      .http()
      .data(RemovePasskeyDocument, { id: passkeys[0]!.id }, { token: owner.auth.accessToken });
    expect(removed.removePasskey).toBe(true);
    expect(errorCode((await signIn(owner.email)).result)).toBe('INVALID_CREDENTIALS');
  });
});
