import { IMAGE_MEDIA_TYPES, type ImageMediaType } from '../../../llm/model-client';

/** Documents whose bytes are UTF-8 text: they go to the model as they are. */
export const TEXT_MEDIA_TYPES = [
  'text/plain',
  'text/markdown',
  'text/csv',
  'application/json',
] as const;
export type TextMediaType = (typeof TEXT_MEDIA_TYPES)[number];

/** Documents that go to the model as their text (a PDF's extracted). */
export const DOCUMENT_MEDIA_TYPES = [...TEXT_MEDIA_TYPES, 'application/pdf'] as const;
export type DocumentMediaType = (typeof DOCUMENT_MEDIA_TYPES)[number];

/** Every type an upload may have: images go to vision models, documents as text. */
export const ACCEPTED_MEDIA_TYPES = [...IMAGE_MEDIA_TYPES, ...DOCUMENT_MEDIA_TYPES] as const;
export type AcceptedMediaType = ImageMediaType | DocumentMediaType;

const accepted = new Set<string>(ACCEPTED_MEDIA_TYPES);
const images = new Set<string>(IMAGE_MEDIA_TYPES);
const texts = new Set<string>(TEXT_MEDIA_TYPES);

export function isAcceptedMediaType(type: string): type is AcceptedMediaType {
  return accepted.has(type);
}

export function isImage(type: string): type is ImageMediaType {
  return images.has(type);
}

export function isTextFamily(type: string): type is TextMediaType {
  return texts.has(type);
}

/**
 * `type/subtype` in lower case without parameters (`Text/Plain; charset=utf-8` → `text/plain`):
 * what a client declares is compared in this form. A charset other than UTF-8 is not honoured;
 * the bytes must be UTF-8 whatever it says (sniff.ts).
 */
export function normalizeMediaType(declared: string): string {
  return declared.split(';', 1)[0]!.trim().toLowerCase();
}
