import { Readable } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { Config } from '../config/config';
import {
  MailDeliveryError,
  type DeliveryFailure,
  type Mailer,
  type MailMessage,
  type SendHooks,
} from './mailer';

/** A stuck SMTP server must not hold a send (and its memory) forever. */
const SMTP_TIMEOUT_MS = 15_000;
/** A server that trickles its replies still ends the attempt within this. */
export const SMTP_ATTEMPT_DEADLINE_MS = 120_000;
const SMTPS_PORT = 465;

/**
 * Sends through an SMTP server from the `MAIL_*` settings, one connection per message.
 *
 * It drives nodemailer's SMTPConnection rather than a transport's `sendMail` because sending at
 * most once needs one fact `sendMail` hides: whether the server had accepted `DATA` and the
 * message had started to flow when a connection broke. Before that point a failure means "not
 * sent" (try again); after it, with no reply from the server, the mail may have arrived.
 */
export class SmtpMailer implements Mailer {
  constructor(private readonly config: Config['mail'] & { server: string }) {}

  async send(message: MailMessage, hooks: SendHooks = {}): Promise<void> {
    const mime = new MailComposer({
      from: { name: this.config.fromName, address: this.config.from },
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html,
    }).compile();
    const raw = await new Promise<Buffer>((resolve, reject) =>
      mime.build((error, built) => (error ? reject(error) : resolve(built))),
    );
    const connection = new SMTPConnection({
      host: this.config.server,
      port: this.config.port,
      secure: this.config.port === SMTPS_PORT,
      connectionTimeout: SMTP_TIMEOUT_MS,
      greetingTimeout: SMTP_TIMEOUT_MS,
      socketTimeout: SMTP_TIMEOUT_MS,
    });
    // Errors outside a step (a late socket error after QUIT) have nothing left to fail.
    connection.on('error', () => undefined);
    const body = new MessageBody(raw, hooks);
    // Closing the connection fails the step under way, which then counts as unknown or not sent.
    const deadline = setTimeout(() => connection.close(), SMTP_ATTEMPT_DEADLINE_MS);
    try {
      await onConnection(connection, (done) => connection.connect(() => done()));
      if (this.config.username) {
        const credentials = { user: this.config.username, pass: this.config.password ?? '' };
        await onConnection(connection, (done) =>
          connection.login(credentials, (error) => done(error ?? undefined)),
        );
      }
      await onConnection(connection, (done) =>
        connection.send(mime.getEnvelope(), body, (error) => {
          body.settled = true;
          done(error ?? undefined);
        }),
      );
      connection.quit();
    } catch (error) {
      throw new MailDeliveryError(failureOf(error, body.started), reasonOf(error));
    } finally {
      clearTimeout(deadline);
      connection.close();
    }
  }

  async close(): Promise<void> {}
}

/**
 * The message as SMTPConnection reads it: it pipes the body only after the server answered
 * `DATA` with 354, so the first read marks the point after which an outcome can be unknown.
 * The hook runs (and the attempt is recorded) before any byte leaves.
 */
class MessageBody extends Readable {
  started = false;
  /** Set when the send already ended (an envelope refusal drains the body without sending it). */
  settled = false;
  private reading = false;

  constructor(
    private readonly raw: Buffer,
    private readonly hooks: SendHooks,
  ) {
    super();
  }

  override _read(): void {
    if (this.reading) return;
    this.reading = true;
    if (this.settled) {
      this.push(null);
      return;
    }
    Promise.resolve(this.hooks.beforeMessage?.()).then(
      () => {
        this.started = true;
        this.push(this.raw);
        this.push(null);
      },
      (error: unknown) => this.destroy(error instanceof Error ? error : new Error(String(error))),
    );
  }
}

/** Runs one step of the SMTP dialogue; a connection error or close while it runs fails it. */
function onConnection(
  connection: SMTPConnection,
  step: (done: (error?: Error) => void) => void,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (error: Error) => finish(error);
    const closed = () => finish(new Error('the SMTP connection closed unexpectedly'));
    const finish = (error?: Error) => {
      connection.off('error', fail);
      connection.off('end', closed);
      if (error) reject(error);
      else resolve();
    };
    connection.once('error', fail);
    connection.once('end', closed);
    step(finish);
  });
}

function failureOf(error: unknown, messageStarted: boolean): DeliveryFailure {
  const { responseCode, code } = error as { responseCode?: number; code?: string };
  // Credentials can be fixed by the operator; the mail should still go out then.
  if (code === 'EAUTH') return 'retry';
  if (typeof responseCode === 'number') return responseCode >= 500 ? 'rejected' : 'retry';
  return messageStarted ? 'unknown' : 'retry';
}

function reasonOf(error: unknown): string {
  const { message, response, code } = error as {
    message?: string;
    response?: string;
    code?: string;
  };
  return [code, response ?? message].filter(Boolean).join(': ') || String(error);
}
