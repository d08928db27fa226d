import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:net';
import { ChatEventsDocument, MeDocument, SessionsDocument } from './gql/graphql';
import WebSocket from 'ws';
import { loginUser, registerUser, STRONG_PASSWORD, uniqueEmail } from './helpers/accounts';
import { errorCode } from './helpers/http-client';
import { useTestApp } from './helpers/test-app';
import { TestSocket } from './helpers/ws-client';
import { MAX_SESSIONS_PER_USER } from '../src/modules/auth/session.service';
import { MAX_OPERATIONS_PER_SOCKET } from '../src/server/ws/websocket-gateway';
import { rateLimitKeyOfIp } from '../src/rate-limit/client-address-key';

const MAX_SOCKETS_PER_USER = 20; // WS_MAX_SOCKETS_PER_USER's default

/** What one client can hold on the server is bounded: sessions, sockets, operations, requests. */
describe('resources one client can hold', () => {
  const app = useTestApp({ httpTimeouts: { requestMs: 1_000, headersMs: 800 } });

  it(`should keep at most ${MAX_SESSIONS_PER_USER} live sessions per user, ending the least recently used`, async () => {
    const user = await registerUser(app);
    for (let i = 0; i < MAX_SESSIONS_PER_USER + 5; i += 1) await loginUser(app, user);
    const newest = await loginUser(app, user);
    const { sessions } = await app.http().data(SessionsDocument, {}, { token: newest.accessToken });
    expect(sessions).toHaveLength(MAX_SESSIONS_PER_USER);
    // The first session (from register) was the least recently used: it is gone.
    expect(
      errorCode(await app.http().request(MeDocument, {}, { token: user.auth.accessToken })),
    ).toBe('UNAUTHENTICATED');
  }, 60_000);

  it('should close a request whose body trickles in past the request timeout', async () => {
    const started = Date.now();
    const socket = connect(app.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
    );
    const drip = setInterval(() => socket.write(' '), 200);
    const response = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk) => (text += String(chunk)));
      socket.once('close', () => resolve(text));
    });
    clearInterval(drip);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(response).toMatch(/^HTTP\/1\.1 408/);
  });

  it(`should refuse operation ${MAX_OPERATIONS_PER_SOCKET + 1} running at once on one socket with BAD_REQUEST`, async () => {
    const user = await registerUser(app);
    const socket = app.socket(user.auth.accessToken);
    const open = Array.from({ length: MAX_OPERATIONS_PER_SOCKET }, () =>
      socket.subscribe(ChatEventsDocument),
    );
    try {
      await socket.connected;
      await sleep(300);
      const extra = socket.subscribe(ChatEventsDocument);
      await extra.done;
      expect((extra.error as Array<{ extensions: { code: string } }>)[0]!.extensions.code).toBe(
        'BAD_REQUEST',
      );
      expect(
        open.filter((subscription) => subscription.error !== null).map((s) => s.error),
      ).toEqual([]);
      // Completing one makes room again.
      open[0]!.unsubscribe();
      await sleep(100);
      const room = socket.subscribe(ChatEventsDocument);
      await sleep(300);
      expect(room.error).toBeNull();
    } finally {
      await socket.dispose();
    }
  });

  it(`should close socket ${MAX_SOCKETS_PER_USER + 1} of one user with 1008`, async () => {
    const user = await registerUser(app);
    const sockets: TestSocket[] = [];
    try {
      for (let i = 0; i < MAX_SOCKETS_PER_USER; i += 1) {
        const socket = app.socket(user.auth.accessToken);
        sockets.push(socket);
        await socket.connected;
      }
      const extra = app.socket(user.auth.accessToken);
      sockets.push(extra);
      expect((await extra.nextClose()).code).toBe(1008);
      // Another user is not affected.
      const other = app.socket((await registerUser(app)).auth.accessToken);
      sockets.push(other);
      await other.connected;
    } finally {
      await Promise.all(sockets.map((socket) => socket.dispose()));
    }
  });
});

describe('client addresses and origins', () => {
  const app = useTestApp({
    env: { TRUST_PROXY: 'loopback', CORS_ORIGINS: 'https://app.example' },
    rateLimits: { registrationsPerIp: { points: 3, durationSeconds: 3600 } },
  });

  it('should count an IPv4-mapped IPv6 address, in any spelling, as the IPv4 it carries', () => {
    expect(rateLimitKeyOfIp('::ffff:102:304')).toBe('1.2.3.4');
    expect(rateLimitKeyOfIp('::ffff:a0b:c0d')).toBe('10.11.12.13');
    expect(rateLimitKeyOfIp('::FFFF:1.2.3.4')).toBe('1.2.3.4');
    expect(rateLimitKeyOfIp('1.2.3.4')).toBe('1.2.3.4');
    // Two different IPv4 clients are never one key, nor one /64.
    expect(rateLimitKeyOfIp('::ffff:102:304')).not.toBe(rateLimitKeyOfIp('::ffff:a0b:c0d'));
    expect(rateLimitKeyOfIp('2001:DB8:1:2::1')).toBe(rateLimitKeyOfIp('2001:db8:1:2:ffff::9'));
    expect(rateLimitKeyOfIp('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(rateLimitKeyOfIp('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it('should count an IPv6 client by its /64, so rotating addresses within it does not reset a limit', async () => {
    const register = (ip: string) =>
      app.http().raw(
        'mutation R($input: RegisterInput!) { register(input: $input) { user { id } } }',
        {
          input: {
            email: uniqueEmail('v6'),
            password: STRONG_PASSWORD,
            confirmPassword: STRONG_PASSWORD,
            firstName: 'Six',
            lastName: 'Four',
          },
        },
        { headers: { 'x-forwarded-for': ip } },
      );
    const codes = [];
    for (const ip of [
      '2001:db8:1:2::1',
      '2001:db8:1:2::2',
      '2001:0db8:0001:0002:ffff::9',
      '2001:db8:1:2:abcd::1',
    ]) {
      codes.push(errorCode(await register(ip)) ?? 'OK');
    }
    expect(codes).toEqual(['OK', 'OK', 'OK', 'RATE_LIMITED']);
    // Another /64 has its own count.
    expect(errorCode(await register('2001:db8:1:3::1'))).toBeUndefined();
  });

  it('should refuse a WebSocket handshake from a page of an unlisted origin, and accept listed, same-origin and non-browser clients', async () => {
    const open = (origin?: string) =>
      new Promise<number>((resolve) => {
        const socket = new WebSocket(app.wsUrl, 'graphql-transport-ws', origin ? { origin } : {});
        socket.once('open', () => {
          socket.close();
          resolve(101);
        });
        socket.once('unexpected-response', (_request, response) =>
          resolve(response.statusCode ?? 0),
        );
        socket.once('error', () => undefined);
      });
    expect(await open('https://evil.example')).toBe(403);
    expect(await open('https://app.example')).toBe(101);
    expect(await open(app.baseUrl)).toBe(101);
    expect(await open()).toBe(101);
  });
});
