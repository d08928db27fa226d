import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { mongo, Types, type Connection } from 'mongoose';
import type { AttachmentStorage } from './attachment-storage';

/** The GridFS bucket's name: its collections are `attachment_bytes.files` and `.chunks`. */
const BUCKET_NAME = 'attachment_bytes';

/** Attachments' bytes in the app's own database, through the MongoDB driver's GridFS bucket. */
export class GridFsStorage implements AttachmentStorage {
  private readonly bucket: mongo.GridFSBucket;

  constructor(connection: Connection) {
    this.bucket = new mongo.GridFSBucket(connection.db!, { bucketName: BUCKET_NAME });
  }

  async write(id: string, filename: string, source: Readable): Promise<void> {
    const upload = this.bucket.openUploadStreamWithId(new Types.ObjectId(id), filename);
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
    return this.bucket.openDownloadStream(new Types.ObjectId(id));
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
