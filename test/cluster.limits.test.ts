import { registerUser } from './helpers/accounts';
import { streamToEnd } from './helpers/chat';
import { useClusterPair } from './helpers/cluster-pair';
import { errorCode } from './helpers/http-client';

const SEND =
  'mutation S($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }';

/**
 * The per-user prompt limit is counted in Redis, so sends spread over the instances of a
 * cluster spend one allowance (counted per instance, two instances would allow twice as many).
 * It is 2 here, under the cap of 3 replies at once, so the cap never decides. The cap and
 * failed sign-ins are covered in cluster.redis.test.ts.
 */
describe('the prompt limit of a cluster', () => {
  const cluster = useClusterPair({
    rateLimits: { messagesPerUserPerMinute: { points: 2, durationSeconds: 60 } },
  });

  it('should let alternating sends on A and B spend one allowance of 2 a minute between them', async () => {
    const { a, b } = cluster;
    const user = await registerUser(a);
    const token = user.auth.accessToken;
    const sockets = [a.socket(token), b.socket(token)] as const;
    try {
      const codes: string[] = [];
      for (let i = 0; i < 8; i += 1) {
        const app = i % 2 === 0 ? a : b;
        const result = await app.http().raw(SEND, { input: { prompt: `limit ${i}` } }, { token });
        codes.push(String(errorCode(result) ?? 'OK'));
        if (!result.errors) {
          // Each reply ends before the next send.
          const { assistantMessage } = result.data!.sendMessage as {
            assistantMessage: { id: string };
          };
          await streamToEnd(sockets[i % 2]!, assistantMessage.id);
        }
      }
      expect(codes).toEqual(['OK', 'OK', ...Array(6).fill('RATE_LIMITED')]);
    } finally {
      await Promise.all(sockets.map((socket) => socket.dispose()));
    }
  });

  it('should accept exactly 2 of 8 sends made at once, half on A and half on B', async () => {
    const { a, b } = cluster;
    const user = await registerUser(a);
    const token = user.auth.accessToken;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 === 0 ? a : b).http().raw(SEND, { input: { prompt: `burst ${i}` } }, { token }),
      ),
    );
    const codes = results.map((result) => String(errorCode(result) ?? 'OK'));
    expect(codes.filter((code) => code === 'OK')).toHaveLength(2);
    expect(codes.filter((code) => code === 'RATE_LIMITED')).toHaveLength(6);
  });
});
