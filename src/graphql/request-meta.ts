/** Where a call came from; recorded on sessions and used as a rate-limit key. */
export interface RequestMeta {
  ip: string;
  userAgent?: string;
}
