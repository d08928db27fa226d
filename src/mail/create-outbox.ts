import type { Connection } from 'mongoose';
import type { Config } from '../config/config';
import { bindModel } from '../db/models';
import type { Logger } from '../log/logger';
import { LogMailer } from './log.mailer';
import type { Mailer } from './mailer';
import { DEFAULT_OUTBOX_TUNING, MailOutbox, type OutboxModel, type OutboxTuning } from './outbox';
import { OutboxMailRecord } from './outbox-mail.model';
import { BodySealer } from './sealed-body';
import { SmtpMailer } from './smtp.mailer';

/** The mail outbox's collection. */
export interface MailModels {
  OutboxMail: OutboxModel;
}

export function bindMailModels(connection: Connection): MailModels {
  return { OutboxMail: bindModel(connection, 'OutboxMail', OutboxMailRecord) };
}

/**
 * The started outbox every flow mails through: SMTP from `MAIL_*`, or the log when
 * `MAIL_SERVER` is unset (a test may hand its own mailer and a shorter retry schedule).
 */
export function createOutbox(
  config: Config,
  logger: Logger,
  model: OutboxModel,
  options: { mailer?: Mailer; tuning?: Partial<OutboxTuning> } = {},
): MailOutbox {
  const mailer =
    options.mailer ??
    (config.mail.server
      ? new SmtpMailer({ ...config.mail, server: config.mail.server })
      : new LogMailer(logger, !config.isProduction));
  const outbox = new MailOutbox(model, mailer, new BodySealer(config.auth.secretKey), logger, {
    ...DEFAULT_OUTBOX_TUNING,
    ...options.tuning,
  });
  outbox.start();
  return outbox;
}
