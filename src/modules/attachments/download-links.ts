import { createHmac, timingSafeEqual } from 'node:crypto';

/** How long a download link (`Attachment.url`) works. */
export const DOWNLOAD_LINK_TTL_SECONDS = 15 * 60;

/**
 * Signed download links: the path names the attachment and when the link expires, and an
 * HMAC of both under a key derived from SECRET_KEY, so a link needs no Authorization (an <img>
 * can load it) and cannot be made for another attachment or a later time.
 */
export class DownloadLinks {
  private readonly key: Buffer;

  constructor(secretKey: string) {
    // Its own key: a link's signature is never valid as anything else signed with SECRET_KEY.
    this.key = createHmac('sha256', secretKey).update('palaver attachment download links').digest();
  }

  /** The path of a link to `id`, valid until `now + ttl`. */
  pathOf(id: string, now = Date.now()): { path: string; expiresAt: Date } {
    const expires = Math.floor(now / 1000) + DOWNLOAD_LINK_TTL_SECONDS;
    return {
      path: `/attachments/${id}/${expires}/${this.signatureOf(id, expires)}`,
      expiresAt: new Date(expires * 1000),
    };
  }

  /** Whether a link's parts are genuine and not expired. */
  verify(id: string, expires: string, signature: string, now = Date.now()): boolean {
    if (!/^\d{1,12}$/.test(expires) || Number(expires) * 1000 <= now) return false;
    const expected = Buffer.from(this.signatureOf(id, Number(expires)));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private signatureOf(id: string, expires: number): string {
    return createHmac('sha256', this.key).update(`${id}.${expires}`).digest('base64url');
  }
}
