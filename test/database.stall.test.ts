/**
 * A database that stops answering (the process frozen with SIGSTOP: connections stay open,
 * nothing comes back) must not hold requests: they fail within seconds with a retryable
 * SERVICE_UNAVAILABLE, and work again as soon as it answers.
 */
import { LoginDocument, MeDocument } from './gql/graphql';
import { registerUser } from './helpers/accounts';
import { errorCode } from './helpers/http-client';
import { useTestApp } from './helpers/test-app';

(process.env.MONGODB_URL ? describe.skip : describe)('a stalled database', () => {
  if (process.env.MONGODB_URL) console.log('skipped: freezing the database needs the local one');
  const app = useTestApp();

  it('should answer me and login with SERVICE_UNAVAILABLE within seconds, then serve again', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const pid = app.db.server!.pid!;
    process.kill(pid, 'SIGSTOP');
    let started: number;
    try {
      started = Date.now();
      const [me, login] = await Promise.all([
        app.http().request(MeDocument, {}, { token }),
        app.http().request(LoginDocument, {
          input: { email: user.email, password: user.password },
        }),
      ]);
      const waited = Date.now() - started;
      for (const result of [me, login]) {
        expect(errorCode(result)).toBe('SERVICE_UNAVAILABLE');
        expect(result.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
      }
      // Before, both waited 36 s for the driver's monitor to give up.
      expect(waited).toBeLessThan(12_000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const again = await app.http().data(MeDocument, {}, { token });
    expect(again.me.email).toBe(user.email);
  }, 40_000);
});
