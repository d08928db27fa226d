import { UnreachableCaseError } from '../../../errors/errors';
import type { DocumentMediaType } from './media-types';
import { PDF_LIMITS, pdfText, type PdfLimits } from './pdf-text';
import { UnreadableDocumentError } from './unreadable-document';

/**
 * The text of a document as a model is given it: UTF-8 text as it is (without a byte-order
 * mark), JSON only when it parses, a PDF's extracted text (pdf-text.ts). Throws
 * UnreadableDocumentError, whose message says why, for bytes that are none of these; a PDF is
 * read within `pdfLimits` (tests lower them).
 */
export async function textOf(
  mediaType: DocumentMediaType,
  bytes: Buffer,
  pdfLimits: PdfLimits = PDF_LIMITS,
): Promise<string> {
  switch (mediaType) {
    case 'text/plain':
    case 'text/markdown':
    case 'text/csv':
      return utf8TextOf(bytes);
    case 'application/json': {
      const text = utf8TextOf(bytes);
      try {
        JSON.parse(text);
      } catch {
        // V8's message quotes the text around the fault: never passed on.
        throw new UnreadableDocumentError('The file is declared as JSON but is not valid JSON.');
      }
      return text;
    }
    case 'application/pdf':
      return pdfText(bytes, pdfLimits);
    default:
      throw new UnreachableCaseError(mediaType);
  }
}

/**
 * The text of a document's first bytes (a file longer than what was kept of it), which must be
 * UTF-8 up to a character cut at their end: a streaming decoder holds such a tail back.
 */
export function utf8Beginning(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
  } catch {
    throw new UnreadableDocumentError('The file is declared as text but is not UTF-8 text.');
  }
}

/** Strict: the upload was sniffed from its head only, so the rest is checked here. */
function utf8TextOf(bytes: Buffer): string {
  if (bytes.includes(0)) {
    throw new UnreadableDocumentError('The file holds NUL bytes: it is binary, not text.');
  }
  try {
    // ignoreBOM false (the default): a leading byte-order mark is dropped.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UnreadableDocumentError('The file is not valid UTF-8 text.');
  }
}
