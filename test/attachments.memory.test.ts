import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { rssBytes } from '../bench/lib/processes';
import { RegisterDocument } from './gql/graphql';
import { STRONG_PASSWORD, uniqueEmail } from './helpers/accounts';
import { TestDatabase } from './helpers/database';
import { tinyPng } from './helpers/sample-files';
import { inspectorUrlOf, rssAfterIdle } from './helpers/hostile-clients';
import { GraphQLHttpClient } from './helpers/http-client';
import { startServerProcess, type ServerProcess } from './helpers/server-process';

const MB = 1024 * 1024;
const SIZE = 50 * MB;
/** What a streamed 50 MB upload and download may add to the server's RSS at their peak. */
const PEAK_GROWTH_LIMIT_MB = 40;

/** 50 MB that sniff as a PNG (the sniffer reads the head only): a real PNG, then filler. */
function* pngLikeChunks(): Generator<Buffer> {
  const signature = tinyPng();
  const filler = Buffer.alloc(MB, 0x5a);
  let sent = 0;
  while (sent < SIZE) {
    const chunk =
      sent === 0 ? Buffer.concat([signature, filler.subarray(signature.length)]) : filler;
    sent += chunk.length;
    yield chunk;
  }
}

/**
 * The built server in its own process (production mode) takes a 50 MB upload and serves it back
 * streamed: its RSS, sampled throughout, never grows by anything near the file's size.
 */
let uploadGrowthMb = Number.NaN;
let downloadGrowthMb = Number.NaN;

describe('attachments: a large upload in a server process', () => {
  let db: TestDatabase;
  let server: ServerProcess;

  beforeAll(async () => {
    db = await TestDatabase.start();
    server = await startServerProcess({
      NODE_ENV: 'production',
      MONGODB_URL: db.url,
      DATABASE_NAME: db.name,
      SECRET_KEY: 'a-production-secret-key-of-more-than-32-characters',
      PORT: '0',
      LOG_LEVEL: 'info',
      ATTACHMENT_MAX_BYTES: String(60 * MB),
      NODE_OPTIONS: '--inspect=127.0.0.1:0',
    });
  });
  afterAll(async () => {
    server?.child.kill('SIGKILL');
    await server?.exited;
    await db.stop();
  });

  it('should stream a 50 MB upload to storage (peak RSS +<40 MB) and serve back identical bytes', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const client = new GraphQLHttpClient(`${base}/graphql`);
    const { register } = await client.data(RegisterDocument, {
      input: {
        email: uniqueEmail('big'),
        password: STRONG_PASSWORD,
        confirmPassword: STRONG_PASSWORD,
        firstName: 'B',
        lastName: 'U',
      },
    });
    const token = register.accessToken;
    const up = await client.raw<any>(
      `mutation { t: createUpload(input: { filename: "big.png", mediaType: "image/png", size: ${SIZE} }) { attachmentId uploadUrl } }`,
      {},
      { token },
    );
    expect(up.errors).toBeUndefined();
    const pid = server.child.pid!;
    const inspector = inspectorUrlOf(server.lines);
    const baseline = await rssAfterIdle(pid, 500, inspector);
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssBytes(pid));
    }, 50);
    try {
      const sent = createHash('sha256');
      const status = await new Promise<number>((resolve, reject) => {
        const url = new URL(up.data.t.uploadUrl as string);
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'PUT',
            headers: { authorization: `Bearer ${token}`, 'content-length': SIZE },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        const chunks = pngLikeChunks();
        const writeMore = () => {
          for (let next = chunks.next(); !next.done; next = chunks.next()) {
            sent.update(next.value);
            if (!req.write(next.value)) {
              req.once('drain', writeMore);
              return;
            }
          }
          req.end();
        };
        writeMore();
      });
      if (status !== 201) console.log(server.lines.slice(-5).join('\n'));
      expect(status).toBe(201);
      uploadGrowthMb = (peak - baseline) / MB;
      console.log(`50 MB upload: peak RSS +${uploadGrowthMb.toFixed(1)} MB`);
      expect(uploadGrowthMb).toBeLessThan(PEAK_GROWTH_LIMIT_MB);
      peak = await rssAfterIdle(pid, 500, inspector);
      const downloadBase = peak;

      const list = await client.raw<any>(`{ attachments { nodes { url size } } }`, {}, { token });
      const { url, size } = list.data.attachments.nodes[0];
      expect(size).toBe(SIZE);
      const download = await fetch(url as string);
      expect(download.status).toBe(200);
      const received = createHash('sha256');
      let length = 0;
      const reader = download.body!.getReader();
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        received.update(read.value);
        length += read.value.length;
      }
      expect(length).toBe(SIZE);
      expect(received.digest('hex')).toBe(sent.digest('hex'));
      downloadGrowthMb = (peak - downloadBase) / MB;
      console.log(`50 MB download: peak RSS +${downloadGrowthMb.toFixed(1)} MB`);
    } finally {
      clearInterval(sampler);
    }
  }, 120_000);

  it('should serve a 50 MB download without holding it (peak RSS +<40 MB)', () => {
    // Set by the test above: a test run alone would see NaN and fail, never pass by default.
    expect(Number.isFinite(downloadGrowthMb)).toBe(true);
    expect(downloadGrowthMb).toBeLessThan(PEAK_GROWTH_LIMIT_MB);
  });
});
