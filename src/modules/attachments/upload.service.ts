import type { Readable } from 'node:stream';
import { isValidObjectId, Types } from 'mongoose';
import { updateByIdIf } from '../../db/by-id';
import { AppError, BadUserInputError, NotFoundError } from '../../errors/errors';
import { ErrorCode } from '../../errors/error-codes';
import type { Viewer } from '../../graphql/context';
import type { Logger } from '../../log/logger';

import {
  AttachmentStatus,
  type AttachmentModel,
  type AttachmentRecord,
  type AttachmentTextModel,
} from './attachment.model';
import type { AttachmentRemoval } from './attachment-removal';
import type { CreateUploadInput, UploadTicket } from './attachment.types';
import {
  ACCEPTED_MEDIA_TYPES,
  isImage,
  normalizeMediaType,
  type DocumentMediaType,
} from './content/media-types';
import { SNIFF_BYTES, sniffMediaType } from './content/sniff';
import { textOf, utf8Beginning } from './content/extract-text';
import { hashOpaqueToken, newOpaqueToken } from '../auth/opaque-token';
import { UnreadableDocumentError } from './content/unreadable-document';
import type { AttachmentStorage } from './storage/attachment-storage';
import type { StorageQuota } from './storage-quota';
import { UploadIntake, UploadRefusal } from './upload-intake';

/** How long an upload URL works. */
export const UPLOAD_TICKET_TTL_MS = 10 * 60_000;
/** A document's text kept for models; longer than any model's context budget. */
export const MAX_STORED_TEXT_CHARS = 1_000_000;
/** Bytes of a text document read for its text (UTF-8 takes at most 4 bytes a character). */
const TEXT_BYTES_KEPT = MAX_STORED_TEXT_CHARS * 4;

export interface UploadLimits {
  /** ATTACHMENT_MAX_BYTES */
  maxBytes: number;
}

/** An upload refused: the HTTP status it answers with, and the GraphQL-style error. */
export class UploadError extends AppError {
  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
  ) {
    super(code, message);
  }
}

/**
 * createUpload and the PUT that follows: a ticket reserves the declared size of the user's
 * quota and gives a single-use URL; the PUT, with the same user's token, spends the ticket
 * before reading a byte, streams the bytes to storage through the intake (counted, their type
 * sniffed), reads a document's text, and only then makes the attachment STORED. Anything that
 * fails on the way removes what was written and gives the reservation back.
 */
export class UploadService {
  constructor(
    private readonly models: { Attachment: AttachmentModel; AttachmentText: AttachmentTextModel },
    private readonly storage: AttachmentStorage,
    private readonly quota: StorageQuota,
    private readonly removal: AttachmentRemoval,
    /** Whether the account may keep what was just written (not while it is being deleted). */
    private readonly accounts: { assertOpen(userId: string): Promise<void> },
    private readonly limits: UploadLimits,
    private readonly publicOrigin: () => string,
    private readonly logger: Logger,
  ) {}

  async createUpload(viewer: Viewer, input: CreateUploadInput): Promise<UploadTicket> {
    const { userId } = viewer;
    const filename = cleanFilename(input.filename);
    const mediaType = normalizeMediaType(input.mediaType);
    if (!(ACCEPTED_MEDIA_TYPES as readonly string[]).includes(mediaType)) {
      throw new BadUserInputError({
        mediaType: `Attach one of ${ACCEPTED_MEDIA_TYPES.join(', ')}.`,
      });
    }
    if (input.size > this.limits.maxBytes) {
      throw new BadUserInputError({
        size: `An attachment may hold at most ${this.limits.maxBytes} bytes.`,
      });
    }
    await this.quota.reserve(userId, input.size);
    const secret = newOpaqueToken();
    const id = new Types.ObjectId();
    const expiresAt = new Date(Date.now() + UPLOAD_TICKET_TTL_MS);
    try {
      await this.models.Attachment.create({
        _id: id,
        userId: new Types.ObjectId(userId),
        filename,
        mediaType,
        size: input.size,
        status: AttachmentStatus.PENDING,
        ticketHash: hashOpaqueToken(secret),
        ticketExpiresAt: expiresAt,
      });
      await this.accounts.assertOpen(userId);
    } catch (error) {
      await this.models.Attachment.deleteOne({ _id: id });
      await this.quota.release(userId, input.size);
      throw error;
    }
    return {
      attachmentId: String(id),
      uploadUrl: `${this.publicOrigin()}/uploads/${String(id)}/${secret}`,
      expiresAt,
    };
  }

  /**
   * The PUT of an upload URL: `declaredLength` is the request's Content-Length when it sent
   * one. Resolves with the stored attachment; rejects with an UploadError.
   */
  async receive(
    viewer: Viewer,
    id: string,
    secret: string,
    body: Readable,
    declaredLength: number | null,
  ): Promise<AttachmentRecord> {
    const attachment = await this.spendTicket(viewer, id, secret, declaredLength);
    try {
      const text = await this.store(attachment, body);
      if (text) {
        await this.models.AttachmentText.create({
          _id: attachment._id,
          text: text.text.slice(0, MAX_STORED_TEXT_CHARS),
          length: text.length,
        });
      }
      await this.accounts.assertOpen(viewer.userId);
      const stored = await updateByIdIf(
        this.models.Attachment,
        attachment._id,
        { status: AttachmentStatus.UPLOADING },
        { $set: { status: AttachmentStatus.STORED } },
      );
      // Removed meanwhile (its account closed, the sweeper): it is gone, with what it held.
      if (!stored) throw new NotFoundError('Attachment');
      return stored;
    } catch (error) {
      await this.removal.discard(attachment).catch((cleanup) => {
        this.logger.error({ err: cleanup, attachmentId: id }, 'a failed upload was not removed');
      });
      throw asUploadError(error);
    }
  }

  /** Finds the ticket and spends it before any byte is read: a URL works once. */
  private async spendTicket(
    { userId }: Viewer,
    id: string,
    secret: string,
    declaredLength: number | null,
  ): Promise<AttachmentRecord> {
    const found = isValidObjectId(id) ? await this.models.Attachment.findById(id).lean() : null;
    // Someone else's attachment is as unknown as one that does not exist.
    if (!found || String(found.userId) !== userId) {
      throw new UploadError(404, ErrorCode.NOT_FOUND, 'Attachment not found.');
    }
    if (found.status !== AttachmentStatus.PENDING || found.ticketHash !== hashOpaqueToken(secret)) {
      throw new UploadError(
        410,
        ErrorCode.INVALID_TOKEN,
        'This upload URL was used already or is not valid; ask createUpload for a new one.',
      );
    }
    if (found.ticketExpiresAt.getTime() <= Date.now()) {
      throw new UploadError(
        410,
        ErrorCode.INVALID_TOKEN,
        'This upload URL has expired; ask createUpload for a new one.',
      );
    }
    if (declaredLength !== null && declaredLength > found.size) {
      throw new UploadError(
        413,
        ErrorCode.BAD_USER_INPUT,
        `The upload is larger than the ${found.size} bytes declared for it.`,
      );
    }
    const spent = await updateByIdIf(
      this.models.Attachment,
      found._id,
      { status: AttachmentStatus.PENDING, ticketHash: found.ticketHash ?? null },
      { $set: { status: AttachmentStatus.UPLOADING, ticketHash: null } },
    );
    if (!spent) {
      throw new UploadError(
        410,
        ErrorCode.INVALID_TOKEN,
        'This upload URL was used already; ask createUpload for a new one.',
      );
    }
    return spent;
  }

  /** Streams the bytes to storage; a document's text and its length (null for an image). */
  private async store(
    attachment: AttachmentRecord,
    body: Readable,
  ): Promise<{ text: string; length: number } | null> {
    const { mediaType, size } = attachment;
    const intake = new UploadIntake({
      limit: size,
      headBytes: SNIFF_BYTES,
      check: async (head) => {
        const sniffed = await sniffMediaType(head, mediaType);
        return 'refused' in sniffed ? sniffed.refused : null;
      },
      keepBytes: isImage(mediaType) ? 0 : mediaType === 'application/pdf' ? size : TEXT_BYTES_KEPT,
    });
    const source = body.pipe(intake);
    // pipe() passes no failure on: a client that goes mid-upload must fail the write too.
    body.once('error', (error) => intake.destroy(error));
    body.once('close', () => {
      if (!(body as { complete?: boolean }).complete) {
        intake.destroy(new UploadRefusal(400, 'The upload was cut off before its end.'));
      }
    });
    await this.storage.write(String(attachment._id), attachment.filename, source);
    if (intake.received !== size) {
      throw new UploadError(
        400,
        ErrorCode.BAD_USER_INPUT,
        `The upload ended after ${intake.received} of the ${size} bytes declared for it.`,
      );
    }
    if (isImage(mediaType)) return null;
    const kept = intake.keptBytes;
    // A text longer than any model reads keeps its beginning (a send says how far over it is),
    // which must still be UTF-8 (a character cut at the end of what was kept aside).
    if (kept.length < size) return { text: utf8Beginning(kept), length: size };
    const text = await textOf(mediaType as DocumentMediaType, kept);
    return { text, length: text.length };
  }
}

function asUploadError(error: unknown): unknown {
  if (error instanceof UploadRefusal) {
    return new UploadError(error.status, ErrorCode.BAD_USER_INPUT, error.message);
  }
  if (error instanceof UnreadableDocumentError) {
    return new UploadError(422, ErrorCode.BAD_USER_INPUT, error.message);
  }
  return error;
}

/** A filename as kept: no path, no control characters, never empty. */
function cleanFilename(raw: string): string {
  // eslint-disable-next-line no-control-regex
  const name = (raw.split(/[\\/]/).pop() ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim();
  if (name === '' || name === '.' || name === '..') {
    throw new BadUserInputError({ filename: 'Give the file a name.' });
  }
  return name;
}
