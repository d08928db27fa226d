import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../config/config';
import type { Mailer, MailMessage } from './mailer';

/** A stuck SMTP server must not hold a send (and its memory) forever. */
const SMTP_TIMEOUT_MS = 15_000;
const SMTPS_PORT = 465;

/** Sends through an SMTP server with nodemailer, from the `MAIL_*` settings. */
export class SmtpMailer implements Mailer {
  private readonly transport: Transporter;

  constructor(private readonly config: Config['mail'] & { server: string }) {
    this.transport = nodemailer.createTransport({
      host: config.server,
      port: config.port,
      secure: config.port === SMTPS_PORT,
      auth: config.username ? { user: config.username, pass: config.password ?? '' } : undefined,
      connectionTimeout: SMTP_TIMEOUT_MS,
      greetingTimeout: SMTP_TIMEOUT_MS,
      socketTimeout: SMTP_TIMEOUT_MS,
    });
  }

  async send(message: MailMessage): Promise<void> {
    await this.transport.sendMail({
      from: { name: this.config.fromName, address: this.config.from },
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html,
    });
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
