import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
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

/** Attachments' bytes in the app's own database, through the MongoDB driver's GridFS bucket. */
export class GridFsStorage implements AttachmentStorage {
  private readonly bucket: mongo.GridFSBucket;

  constructor(connection: Connection) {
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

  read(id: string): Readable {
    return this.bucket.openDownloadStream(new Types.ObjectId(id), PER_COMMAND_TIMEOUT);
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
