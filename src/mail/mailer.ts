export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/**
 * How an attempt that did not end in "accepted" ended, which decides what the outbox does:
 * - `retry`: the server did not take the message and said so, or was never reached (a 4xx
 *   reply, a refused or timed-out connection before the message was sent): try again later;
 * - `rejected`: the server refused it for good (a 5xx reply): trying again cannot help;
 * - `unknown`: the connection broke after the message had started to flow and before the
 *   server answered: it may have been delivered, so it counts as sent (at most once).
 */
export type DeliveryFailure = 'retry' | 'rejected' | 'unknown';

export class MailDeliveryError extends Error {
  constructor(
    readonly failure: DeliveryFailure,
    readonly reason: string,
  ) {
    super(`mail not delivered (${failure}): ${reason}`);
    this.name = 'MailDeliveryError';
  }
}

export interface SendHooks {
  /**
   * Called once the server has agreed to take the message and before any of it is sent; the
   * send waits for it, and does not send if it rejects (the outbox records the attempt here).
   */
  beforeMessage?(): Promise<void>;
}

/** Sends one message; rejects with a MailDeliveryError when it was not accepted. */
export interface Mailer {
  send(message: MailMessage, hooks?: SendHooks): Promise<void>;
  close(): Promise<void>;
}
