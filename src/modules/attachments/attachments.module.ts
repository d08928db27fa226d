import type { Connection } from 'mongoose';
import type { Config } from '../../config/config';
import { bindModel } from '../../db/models';
import { instancesOf, type AppModule } from '../../graphql/app-module';
import type { Logger } from '../../log/logger';
import {
  AttachmentRecord,
  AttachmentTextRecord,
  StorageUsageRecord,
  type AttachmentModel,
  type AttachmentTextModel,
  type StorageUsageModel,
} from './attachment.model';
import { AttachmentRemoval } from './attachment-removal';
import { AttachmentResolver } from './attachment.resolver';
import { AttachmentService } from './attachment.service';
import { AttachmentSweeper, DEFAULT_SWEEP_TIMING, type SweepTiming } from './attachment-sweeper';
import { DownloadLinks } from './download-links';
import { PromptAttachments } from './prompt-attachments';
import { GridFsStorage } from './storage/gridfs-storage';
import type { AttachmentStorage } from './storage/attachment-storage';
import { StorageQuota } from './storage-quota';
import { UploadService } from './upload.service';

/** The attachments feature's part of the schema; the module gives an instance of each. */
export const ATTACHMENTS_RESOLVERS = [AttachmentResolver] as const;

/** The attachments feature's collections (the bytes are in the storage's own). */
export interface AttachmentsModels {
  Attachment: AttachmentModel;
  AttachmentText: AttachmentTextModel;
  StorageUsage: StorageUsageModel;
}

export function bindAttachmentsModels(connection: Connection): AttachmentsModels {
  return {
    Attachment: bindModel(connection, 'Attachment', AttachmentRecord),
    AttachmentText: bindModel(connection, 'AttachmentText', AttachmentTextRecord),
    StorageUsage: bindModel(connection, 'StorageUsage', StorageUsageRecord),
  };
}

export interface AttachmentsModuleDependencies {
  config: Config;
  logger: Logger;
  connection: Connection;
  models: AttachmentsModels;
  /** Whether an account may keep what was just written (not while it is being deleted). */
  accounts: { assertOpen(userId: string): Promise<void> };
  /** The API's public origin, known once the server listens (PUBLIC_URL, else its address). */
  publicOrigin: () => string;
  /** Tests shorten the sweeper's timing to see it act. */
  sweep?: Partial<SweepTiming>;
}

export interface AttachmentsModule extends AppModule {
  uploads: UploadService;
  links: DownloadLinks;
  storage: AttachmentStorage;
  models: AttachmentsModels;
  /** What chat asks: checks, binding, what models are sent, removal with a chat. */
  prompts: PromptAttachments;
  /** Attachments as GraphQL shows them (Message.attachments). */
  library: AttachmentService;
  /** Removes a user's attachments (the account is being deleted). */
  eraser: { eraseUser(userId: string): Promise<void> };
  sweeper: AttachmentSweeper;
}

/** Uploads, their storage, their download links, and what chat sends of them to models. */
export function createAttachmentsModule(deps: AttachmentsModuleDependencies): AttachmentsModule {
  const { config, logger, models, accounts, publicOrigin } = deps;
  const storage = new GridFsStorage(deps.connection);
  const quota = new StorageQuota(models, config.attachments.quotaBytes);
  const removal = new AttachmentRemoval(models, storage, quota);
  const links = new DownloadLinks(config.auth.secretKey);
  const uploads = new UploadService(
    models,
    storage,
    quota,
    removal,
    accounts,
    { maxBytes: config.attachments.maxBytes },
    publicOrigin,
    logger,
  );
  const prompts = new PromptAttachments(
    models,
    storage,
    removal,
    quota,
    config.attachments.perMessage,
  );
  const sweeper = new AttachmentSweeper(
    models,
    removal,
    { ...DEFAULT_SWEEP_TIMING, ...deps.sweep },
    logger,
  );
  sweeper.start();
  const library = new AttachmentService(models, quota, removal, links, publicOrigin);
  return {
    library,
    uploads,
    links,
    storage,
    models,
    prompts,
    eraser: prompts,
    sweeper,
    resolvers: instancesOf(ATTACHMENTS_RESOLVERS, [new AttachmentResolver(library, uploads)]),
    stop: () => sweeper.stop(),
  };
}
