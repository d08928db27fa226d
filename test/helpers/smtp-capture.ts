import { setTimeout as sleep } from 'node:timers/promises';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

export interface CapturedMail {
  to: string[];
  subject: string;
  text: string;
  html: string;
}

/**
 * A real SMTP server on loopback (the smtp-server package) that records every message, so
 * tests read the mail that arrived, links and all, exactly as a user would.
 */
export class SmtpCapture {
  readonly messages: CapturedMail[] = [];
  private waiters: Array<() => void> = [];
  /** While > 0, each message is refused with a 451 and the counter goes down. */
  refuseNext = 0;
  /** Holds each message this long before accepting it (a slow SMTP server). */
  delayMs = 0;
  /** Until this time (ms since epoch), every connection is greeted with a 421 and closed. */
  refuseConnectionsUntil = 0;
  /** Recipients refused for good (550 at RCPT TO). */
  readonly rejectRecipients = new Set<string>();
  /** Connections refused with 421 so far. */
  refusedConnections = 0;

  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  /** Refuses every connection with 421 for the next `ms` milliseconds. */
  refuseConnectionsFor(ms: number): void {
    this.refuseConnectionsUntil = Date.now() + ms;
  }

  static async start(): Promise<SmtpCapture> {
    const ref: { capture?: SmtpCapture } = {};
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onConnect(_session, callback) {
        if (Date.now() < ref.capture!.refuseConnectionsUntil) {
          ref.capture!.refusedConnections += 1;
          const error = new Error('Service not available (test)') as Error & {
            responseCode: number;
          };
          error.responseCode = 421;
          return callback(error);
        }
        callback();
      },
      onRcptTo(address, _session, callback) {
        if (ref.capture!.rejectRecipients.has(address.address)) {
          const error = new Error('No such user (test)') as Error & { responseCode: number };
          error.responseCode = 550;
          return callback(error);
        }
        callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', async () => {
          if (ref.capture!.delayMs > 0) await sleep(ref.capture!.delayMs);
          if (ref.capture!.refuseNext > 0) {
            ref.capture!.refuseNext -= 1;
            const error = new Error('Temporary failure (test)') as Error & { responseCode: number };
            error.responseCode = 451;
            return callback(error);
          }
          simpleParser(Buffer.concat(chunks))
            .then((parsed) => {
              ref.capture!.record({
                to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
                subject: parsed.subject ?? '',
                text: parsed.text ?? '',
                html: typeof parsed.html === 'string' ? parsed.html : '',
              });
              callback();
            })
            .catch(callback);
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server as unknown as { server: { address(): AddressInfo } }).server.address()
      .port;
    ref.capture = new SmtpCapture(server, port);
    return ref.capture;
  }

  private record(mail: CapturedMail): void {
    this.messages.push(mail);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** The first message (already here or arriving within `timeoutMs`) that matches. */
  async waitFor(match: (mail: CapturedMail) => boolean, timeoutMs = 5_000): Promise<CapturedMail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(
          `no matching mail within ${timeoutMs} ms; got: ${this.messages.map((m) => `${m.to} "${m.subject}"`).join(', ') || 'none'}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  to(address: string): CapturedMail[] {
    return this.messages.filter((mail) => mail.to.includes(address));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The token of the first link to `${appUrl}${path}?token=…` in a mail's text. */
export function tokenFromMail(
  mail: CapturedMail,
  path: '/verify-email' | '/reset-password',
): string {
  const match = new RegExp(`https?://\\S+${path}\\?token=([A-Za-z0-9_-]+)`).exec(mail.text);
  if (!match) throw new Error(`no ${path} link in mail "${mail.subject}":\n${mail.text}`);
  return match[1]!;
}
