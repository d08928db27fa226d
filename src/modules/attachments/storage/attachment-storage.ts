import type { Readable } from 'node:stream';

/**
 * Where attachments' bytes live, by the attachment's id. GridFS in the app's own database by
 * default (one MONGODB_URL, one backup); an object store would be another implementation.
 */
export interface AttachmentStorage {
  /**
   * Stores what `source` yields under `id`, as it arrives (never the whole file in memory).
   * Rejects, keeping nothing, when `source` fails (it is destroyed with a reason: too large, a
   * refused type, the client went).
   */
  write(id: string, filename: string, source: Readable): Promise<void>;
  /** The bytes stored under `id`, streamed. */
  read(id: string): Readable;
  /** Removes the bytes under `id`; nothing stored there is not an error. */
  remove(id: string): Promise<void>;
}
