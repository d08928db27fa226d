/**
 * What an upload really is, from its first bytes: a client's declared type is trusted only
 * when the bytes agree, so an HTML page cannot be stored (and later served) as an image, nor
 * a PNG go to a model as a PDF. Binary formats are told by their signatures (file-type);
 * text has none, so a text type passes only for bytes that are UTF-8 without NUL.
 */
import { fileTypeFromBuffer } from 'file-type';
import {
  isAcceptedMediaType,
  isImage,
  isTextFamily,
  normalizeMediaType,
  type AcceptedMediaType,
} from './media-types';

/**
 * How many first bytes of an upload sniffMediaType wants: what file-type reads of a buffer
 * (its `reasonableDetectionSizeInBytes`, exported but left out of its typings; a test keeps
 * the two equal).
 */
export const SNIFF_BYTES = 4100;

export type SniffResult = { mediaType: AcceptedMediaType } | { refused: string };

/**
 * Types file-type reports that are one of ours under another name: an animated PNG is a PNG
 * to every vision API.
 */
const SAME_AS: Record<string, string> = { 'image/apng': 'image/png' };

/**
 * Signatures file-type finds in text (`WEBVTT`, `BEGIN:VCARD`, `<?xml`): such a file may still
 * be declared as plain text, so these are checked as text, not as a contradiction.
 */
function isTextual(type: string): boolean {
  return type.startsWith('text/') || type === 'application/xml';
}

/** Longest declared type a refusal names (it is the client's own string, so it is cut). */
const MAX_NAMED_TYPE = 100;

/**
 * The type the upload is taken as, `declared` normalized, or why it is refused: a short
 * sentence naming the declared type and what the bytes are, never quoting them. `head` is
 * the upload's first SNIFF_BYTES bytes (all of it when shorter).
 */
export async function sniffMediaType(head: Uint8Array, declared: string): Promise<SniffResult> {
  const type = normalizeMediaType(declared);
  if (!isAcceptedMediaType(type)) {
    return { refused: `Files of type ${named(type)} are not accepted.` };
  }
  const found = await signatureOf(head);
  if (found === type) return { mediaType: type };
  const binary = found !== undefined && found !== 'unreadable' && !isTextual(found);
  if (!isTextFamily(type)) {
    if (found === 'unreadable') return { refused: `${declaredAs(type)} could not be identified.` };
    if (binary) return { refused: `${declaredAs(type)} is ${named(found)}.` };
    const what = textShapeOf(head) === 'text' ? 'text' : 'of no known type';
    const expected = isImage(type) ? 'an image' : 'a PDF';
    return { refused: `${declaredAs(type)} is ${what}, not ${expected}.` };
  }
  // A signature of a type taken otherwise (an image, a PDF) contradicts a text type. Other
  // signatures can be two letters (`BM`, `MZ`, `ID3`) and open ordinary text ("BMW sales,…"):
  // those bytes are judged as text, which a real binary fails.
  if (binary && isAcceptedMediaType(found)) {
    return { refused: `${declaredAs(type)} is ${named(found)}.` };
  }
  const text = textShapeOf(head);
  if (text === 'text') return { mediaType: type };
  if (binary) return { refused: `${declaredAs(type)} is ${named(found)}.` };
  return text === 'nul'
    ? { refused: `${declaredAs(type)} is binary (NUL bytes), not text.` }
    : { refused: `${declaredAs(type)} is not UTF-8 text.` };
}

function declaredAs(type: string): string {
  return `The file is declared as ${type}, but its content`;
}

async function signatureOf(head: Uint8Array): Promise<string | undefined | 'unreadable'> {
  try {
    const found = await fileTypeFromBuffer(head);
    return found && (SAME_AS[found.mime] ?? found.mime);
  } catch {
    // A parser of file-type failed on bytes that look like one of its formats and are not.
    return 'unreadable';
  }
}

/**
 * Whether the head reads as UTF-8 text. It may end inside a character when the file goes on
 * beyond it: a streaming decoder keeps such a tail for later instead of refusing it (the whole
 * file is decoded strictly when its text is read).
 */
function textShapeOf(head: Uint8Array): 'text' | 'nul' | 'not-utf8' {
  if (head.includes(0)) return 'nul';
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return 'text';
  } catch {
    return 'not-utf8';
  }
}

function named(type: string): string {
  const printable = type.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > MAX_NAMED_TYPE ? `${printable.slice(0, MAX_NAMED_TYPE)}…` : printable;
}
