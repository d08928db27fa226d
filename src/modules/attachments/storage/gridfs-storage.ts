import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { mongo, Types, type Connection } from 'mongoose';
import type { AttachmentStorage } from './attachment-storage';

/** The GridFS bucket's name: its collections are `attachment_bytes.files` and `.chunks`. */
const BUCKET_NAME = 'attachment_bytes';

/**
 * The driver bounds a GridFS stream's whole life by the client's `timeoutMS` (5 s, db/connection.ts):
 * an upload or a download that takes longer (a 50 MB file, a slow client) failed midway with
 * "Timed out during socket read". Without a stream-wide `timeoutMS`, each chunk's command still
 * gets the client's per-operation timeout, so a dead server is noticed as quickly.
 */
const PER_COMMAND_TIMEOUT = { timeoutMS: undefined };

/**
 * Chunks fetched per round trip when reading (255 KB each by default). The driver's own download
 * stream has no batch size: its cursor's first batch held ~25 MB of a large file in memory.
 */
const READ_BATCH_CHUNKS = 4;

interface ChunkDocument {
  n: number;
  data: mongo.Binary;
}

/** Attachments' bytes in the app's own database, through the MongoDB driver's GridFS bucket. */
export class GridFsStorage implements AttachmentStorage {
  private readonly bucket: mongo.GridFSBucket;

  constructor(private readonly connection: Connection) {
    this.bucket = new mongo.GridFSBucket(connection.db!, { bucketName: BUCKET_NAME });
  }

  async write(id: string, filename: string, source: Readable): Promise<void> {
    const upload = this.bucket.openUploadStreamWithId(
      new Types.ObjectId(id),
      filename,
      PER_COMMAND_TIMEOUT,
    );
    try {
      await pipeline(source, upload);
    } catch (error) {
      // The chunks written so far go with the failed upload (abort removes them).
      await upload.abort().catch(() => {});
      await this.remove(id);
      throw error;
    }
  }

  /**
   * The file's chunks in order, a few at a time (GridFS's layout, as the driver writes it: the
   * `.files` document says the length, `.chunks` hold `n` from 0).
   */
  read(id: string): Readable {
    return Readable.from(this.chunksOf(new Types.ObjectId(id)), { objectMode: false });
  }

  private async *chunksOf(id: Types.ObjectId): AsyncGenerator<Buffer> {
    const db = this.connection.db!;
    const file = await db.collection(`${BUCKET_NAME}.files`).findOne({ _id: id });
    if (!file) throw new Error(`no stored bytes for ${String(id)}`);
    const cursor = db
      .collection<ChunkDocument>(`${BUCKET_NAME}.chunks`)
      .find({ files_id: id }, { timeoutMS: undefined })
      .sort({ n: 1 })
      .batchSize(READ_BATCH_CHUNKS);
    let expected = 0;
    let length = 0;
    try {
      for await (const chunk of cursor) {
        if (chunk.n !== expected) throw new Error(`chunk ${expected} of ${String(id)} is missing`);
        expected++;
        const data = chunk.data.buffer;
        const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        length += bytes.length;
        yield bytes;
      }
    } finally {
      await cursor.close();
    }
    if (length !== (file.length as number)) {
      throw new Error(`the stored bytes of ${String(id)} are shorter than their file says`);
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.bucket.delete(new Types.ObjectId(id));
    } catch (error) {
      // Nothing stored under this id (never written, or removed already).
      if (error instanceof mongo.MongoRuntimeError && /File not found/i.test(error.message)) return;
      throw error;
    }
  }
}
