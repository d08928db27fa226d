import { mongo } from 'mongoose';
import { graphql, startSubject, type Bench, type CaseResult } from '../lib/context';
import { percentile } from '../lib/stats';
import { tinyPng } from '../../test/helpers/sample-files';

const MB = 1024 * 1024;
const CREATE_UPLOAD =
  'mutation($input: CreateUploadInput!) { createUpload(input: $input) { uploadUrl } }';

/** A file of `size` bytes that sniffs as a PNG: a whole tiny PNG, then a pattern. */
function pngLike(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size).fill(7);
  bytes.set(tinyPng());
  return bytes;
}

/**
 * Upload throughput (issue 32): files sent one after another through createUpload and a PUT
 * to the built server (ticket, auth, counting and sniffing on the way, GridFS, the checks
 * after), against the raw driver's GridFSBucket writing the same bytes to the same database in
 * the same run, in alternating rounds.
 */
export async function uploadsCase(bench: Bench): Promise<CaseResult> {
  const rounds = bench.quick ? 1 : Number(process.env.BENCH_UPLOADS_ROUNDS ?? 3);
  const files = bench.quick ? 4 : 20;
  const size = (bench.quick ? 1 : 5) * MB;
  const bytes = pngLike(size);
  const client = await new mongo.MongoClient(bench.dbUrl, { maxPoolSize: 1 }).connect();
  const raw = new mongo.GridFSBucket(client.db(bench.dbName), { bucketName: 'bench_raw' });
  const subject = await startSubject(bench);
  let errors = 0;
  try {
    const throughApi = async (round: number) => {
      const [user] = await bench.seeder.users(1, `uploads-${round}`);
      const start = process.hrtime.bigint();
      for (let i = 0; i < files; i += 1) {
        const { createUpload } = await graphql(subject.port, user!.token, CREATE_UPLOAD, {
          input: { filename: `f${i}.png`, mediaType: 'image/png', size },
        });
        const response = await fetch(createUpload.uploadUrl, {
          method: 'PUT',
          headers: { authorization: `Bearer ${user!.token}` },
          body: bytes,
        });
        const answer = await response.text();
        if (response.status !== 201) {
          errors += 1;
          if (errors === 1) console.log(`  an upload answered ${response.status}: ${answer}`);
        }
      }
      return (files * size) / MB / (Number(process.hrtime.bigint() - start) / 1e9);
    };
    const throughDriver = async () => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < files; i += 1) {
        await new Promise<void>((resolve, reject) => {
          const upload = raw.openUploadStream(`f${i}.png`);
          upload.once('finish', () => resolve());
          upload.once('error', reject);
          upload.end(bytes);
        });
      }
      return (files * size) / MB / (Number(process.hrtime.bigint() - start) / 1e9);
    };
    const api: number[] = [];
    const driver: number[] = [];
    for (let round = 0; round < rounds; round += 1) {
      api.push(await throughApi(round));
      driver.push(await throughDriver());
    }
    const subjectMbps = percentile(api, 50);
    const baselineMbps = percentile(driver, 50);
    const ratio = subjectMbps / baselineMbps;
    return {
      case: 'uploads',
      measure: `upload throughput MB/s, createUpload + PUT of ${files} × ${size / MB} MB one after another vs the raw driver's GridFSBucket writing the same bytes to the same database (medians of ${rounds} alternating rounds)`,
      unit: 'MB/s',
      subject: subjectMbps,
      baseline: baselineMbps,
      ratio,
      target: '≥ 0.5× the raw driver',
      pass: ratio >= 0.5 && errors === 0,
      errors,
      details: {
        apiPerRound: api.map((v) => +v.toFixed(1)),
        driverPerRound: driver.map((v) => +v.toFixed(1)),
      },
    };
  } finally {
    await subject.stop();
    await client
      .db(bench.dbName)
      .dropCollection('bench_raw.files')
      .catch(() => {});
    await client
      .db(bench.dbName)
      .dropCollection('bench_raw.chunks')
      .catch(() => {});
    await client.close();
  }
}
