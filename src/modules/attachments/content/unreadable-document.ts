/**
 * A document whose text cannot be given to a model (not UTF-8, not JSON, a PDF that is
 * broken, locked, scanned, too long or too slow to read). Its message is a fixed sentence,
 * safe to show: it never quotes the file. Callers answer it as BAD_USER_INPUT.
 */
export class UnreadableDocumentError extends Error {
  override name = 'UnreadableDocumentError';
}
