import type { Logger } from '../log/logger';
import type { Mailer, MailMessage } from './mailer';

/**
 * The stand-in when `MAIL_SERVER` is unset. In development the mail, link included, goes to
 * the log so that a developer can follow it. In production the body holds single-use tokens
 * and must not reach a log, so only the recipient and subject are written, with a warning.
 */
export class LogMailer implements Mailer {
  constructor(
    private readonly logger: Logger,
    private readonly includeBody: boolean,
  ) {}

  async send(message: MailMessage): Promise<void> {
    const mail = { to: message.to, subject: message.subject };
    if (this.includeBody) {
      this.logger.info({ mail }, `mail (not sent: MAIL_SERVER is unset)\n${message.text}`);
    } else {
      this.logger.warn({ mail }, 'mail not sent: MAIL_SERVER is unset (the body is not logged)');
    }
  }

  async close(): Promise<void> {}
}
