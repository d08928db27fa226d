import type { Logger } from '../log/logger';
import type { Mailer, MailMessage } from './mailer';

/**
 * Development stand-in when `MAIL_SERVER` is unset: the mail, link included, goes to the log
 * so that a developer can follow it. Never used in production (config refuses that setup).
 */
export class LogMailer implements Mailer {
  constructor(private readonly logger: Logger) {}

  async send(message: MailMessage): Promise<void> {
    this.logger.info(
      { mail: { to: message.to, subject: message.subject } },
      `mail (not sent: MAIL_SERVER is unset)\n${message.text}`,
    );
  }

  async close(): Promise<void> {}
}
