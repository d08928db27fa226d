import type { MailMessage } from './mailer';

export interface Recipient {
  email: string;
  firstName: string;
}

const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function compose(
  to: Recipient,
  subject: string,
  lines: string[],
  link?: { url: string; label: string },
): MailMessage {
  const greeting = `Hello ${to.firstName},`;
  const text = [greeting, '', ...lines, ...(link ? ['', link.url] : []), '', '— Palaver'].join(
    '\n',
  );
  const html = [
    `<p>${escapeHtml(greeting)}</p>`,
    ...lines.map((line) => `<p>${escapeHtml(line)}</p>`),
    ...(link ? [`<p><a href="${escapeHtml(link.url)}">${escapeHtml(link.label)}</a></p>`] : []),
    '<p>— Palaver</p>',
  ].join('\n');
  return { to: to.email, subject, text, html };
}

export function verificationMail(to: Recipient, url: string, validHours: number): MailMessage {
  return compose(
    to,
    'Confirm your email address',
    [
      `Confirm your address for Palaver with the link below. It works once, for ${validHours} hours.`,
    ],
    { url, label: 'Confirm my address' },
  );
}

export function passwordResetMail(to: Recipient, url: string, validMinutes: number): MailMessage {
  return compose(
    to,
    'Reset your password',
    [
      `Someone asked to reset your Palaver password. The link below works once, for ${validMinutes} minutes.`,
      'If it was not you, ignore this mail: your password stays as it is.',
    ],
    { url, label: 'Choose a new password' },
  );
}

export function passwordChangedMail(to: Recipient): MailMessage {
  return compose(to, 'Your password was changed', [
    'The password of your Palaver account was just changed, and your other sessions were signed out.',
    'If it was not you, reset your password now and check your account.',
  ]);
}

/** A new way to sign in was added to the account (an authenticator app, a passkey, an identity). */
export function newSignInFactorMail(to: Recipient, what: string): MailMessage {
  return compose(to, 'A new way to sign in was added', [
    `${what} was just added to your Palaver account.`,
    'If it was not you, change your password now and remove it from your account settings.',
  ]);
}

export function twoFactorDisabledMail(to: Recipient): MailMessage {
  return compose(to, 'Two-step sign-in was turned off', [
    'Two-step sign-in was just turned off for your Palaver account, and your other sessions were signed out.',
    'If it was not you, change your password now and turn it on again.',
  ]);
}
