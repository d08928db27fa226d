import type { Request, Response, Router } from 'express';
import express from 'express';
import cors from 'cors';
import { isValidObjectId } from 'mongoose';
import type { Config } from '../../config/config';
import { AppError } from '../../errors/errors';
import { ErrorCode } from '../../errors/error-codes';
import type { Authenticate } from '../../graphql/context';
import type { Logger } from '../../log/logger';
import { AttachmentStatus } from '../../modules/attachments/attachment.model';
import type { AttachmentsModule } from '../../modules/attachments/attachments.module';
import { isImage } from '../../modules/attachments/content/media-types';
import { UploadError } from '../../modules/attachments/upload.service';

/** What the routes use of the attachments module. */
export type AttachmentRoutesModule = Pick<
  AttachmentsModule,
  'uploads' | 'links' | 'storage' | 'models'
>;

/**
 * Downloads are sandboxed whatever they hold: a stored file can never run script on the API's
 * origin, even opened directly.
 */
const DOWNLOAD_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

/**
 * `PUT /uploads/<id>/<secret>`: an upload ticket's bytes, raw (no multipart), with the same
 * `Authorization` as any call, so a cross-site form (which cannot set it) can never upload in
 * a user's name. `GET /attachments/<id>/<expires>/<signature>`: a signed download link.
 */
export function attachmentRoutes(options: {
  config: Config;
  authenticator: Authenticate;
  attachments: AttachmentRoutesModule;
  logger: Logger;
}): Router {
  const { config, authenticator, attachments, logger } = options;
  const router = express.Router();
  const corsHandler = cors({
    origin: config.http.corsOrigins,
    credentials: true,
    methods: ['PUT', 'GET'],
    allowedHeaders: ['authorization', 'content-type', 'content-length'],
  });

  router.options('/uploads/:id/:secret', corsHandler);
  router.put('/uploads/:id/:secret', corsHandler, async (req: Request, res: Response) => {
    try {
      const auth = await authenticator.authenticate(req.headers.authorization);
      if (!auth.viewer) {
        throw new UploadError(401, ErrorCode.UNAUTHENTICATED, 'You must be signed in to upload.');
      }
      const length = req.headers['content-length'];
      const record = await attachments.uploads.receive(
        auth.viewer,
        String(req.params.id),
        String(req.params.secret),
        req,
        length !== undefined && /^\d+$/.test(length) ? Number(length) : null,
      );
      res.status(201).json({
        id: String(record._id),
        filename: record.filename,
        mediaType: record.mediaType,
        size: record.size,
      });
    } catch (error) {
      refuse(res, error, logger);
    }
  });

  router.get('/attachments/:id/:expires/:signature', async (req: Request, res: Response) => {
    const id = String(req.params.id);
    try {
      if (
        !isValidObjectId(id) ||
        !attachments.links.verify(id, String(req.params.expires), String(req.params.signature))
      ) {
        throw new UploadError(
          403,
          ErrorCode.INVALID_TOKEN,
          'This download link is not valid or has expired; read Attachment.url again.',
        );
      }
      const record = await attachments.models.Attachment.findById(id).lean();
      if (!record || record.status !== AttachmentStatus.STORED) {
        throw new UploadError(404, ErrorCode.NOT_FOUND, 'Attachment not found.');
      }
      const image = isImage(record.mediaType);
      res.status(200);
      res.setHeader(
        'content-type',
        record.mediaType.startsWith('text/') || record.mediaType === 'application/json'
          ? `${record.mediaType}; charset=utf-8`
          : record.mediaType,
      );
      res.setHeader('content-length', String(record.size));
      res.setHeader(
        'content-disposition',
        `${image ? 'inline' : 'attachment'}; filename="${asciiName(record.filename)}"; filename*=UTF-8''${encodeURIComponent(record.filename)}`,
      );
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('content-security-policy', DOWNLOAD_CSP);
      res.setHeader('cache-control', 'private, max-age=300');
      res.setHeader('cross-origin-resource-policy', 'cross-origin');
      const bytes = attachments.storage.read(id);
      bytes.on('error', (error) => {
        logger.warn({ err: error, attachmentId: id }, 'an attachment download failed midway');
        res.destroy();
      });
      bytes.pipe(res);
    } catch (error) {
      refuse(res, error, logger);
    }
  });
  return router;
}

/** An error as JSON in GraphQL's shape, with the status an HTTP client acts on. */
function refuse(res: Response, error: unknown, logger: Logger): void {
  let status = 500;
  let code: string = ErrorCode.INTERNAL_SERVER_ERROR;
  let message = 'Something went wrong on our side.';
  if (error instanceof UploadError) {
    ({ status } = error);
    code = String(error.extensions.code);
    ({ message } = error);
  } else if (error instanceof AppError) {
    code = String(error.extensions.code);
    status = code === ErrorCode.NOT_FOUND ? 404 : code === ErrorCode.UNAUTHENTICATED ? 401 : 400;
    ({ message } = error);
  } else {
    logger.error({ err: error }, 'unexpected error in an attachment route');
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // A refused upload's remaining body is not read: the connection closes after the answer.
  res.setHeader('connection', 'close');
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
}

/** The filename for clients that do not read `filename*`: printable ASCII, no quotes. */
function asciiName(name: string): string {
  return name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
}
