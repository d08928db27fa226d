import type { ModelInfo } from '../../llm/model-info';
import { CHARS_PER_TOKEN } from '../../llm/token-estimate';
import type { PromptImage, PromptMessage } from '../../llm/model-client';
import type { PromptFile } from '../attachments/prompt-attachments';
import { MessagePartType, MessageRole, MessageStatus } from './chat-enums';
import type { MessageRecord } from './message.model';
import { stepsOf } from './streaming/reply-content';

/**
 * What the model sees: the system instructions, then as much of the chat as fits, newest kept
 * first, then the new prompt. The budget is in characters (about 4 per token): 48,000 is
 * ~12,000 tokens, which every offered model takes with room for the reply.
 */
export const HISTORY_BUDGET_CHARS = 48_000;
/** At most this many earlier messages are read to build the history. */
export const HISTORY_MAX_MESSAGES = 200;
/** What an image counts for against a budget (vision models bill an image as ~1,500 tokens). */
export const IMAGE_BUDGET_CHARS = 6_000;

/**
 * The most characters one prompt with its documents may hold for a model: its context less a
 * quarter for the reply, or the history budget when its context is unknown.
 */
export function contextBudgetOf(info: ModelInfo): number {
  if (!info.contextTokens) return HISTORY_BUDGET_CHARS;
  return Math.max(HISTORY_BUDGET_CHARS, Math.floor(info.contextTokens * 0.75) * CHARS_PER_TOKEN);
}

/** A prompt as the model reads it: its documents' text first, then what the user wrote. */
export function promptTextOf(prompt: string, files: readonly PromptFile[]): string {
  const documents = files
    .filter((file) => file.kind === 'document')
    .map(
      (file) =>
        `<attachment name="${file.filename.replace(/"/g, "'")}" type="${file.mediaType}">\n${file.text}\n</attachment>`,
    );
  return documents.length === 0 ? prompt : `${documents.join('\n\n')}\n\n${prompt}`;
}

/** How much of a budget a prompt with these files takes (documents whole, not as kept). */
export function promptSizeOf(prompt: string, files: readonly PromptFile[]): number {
  let size = prompt.length;
  for (const file of files) size += file.kind === 'image' ? IMAGE_BUDGET_CHARS : file.length + 64;
  return size;
}

/** An image of the built prompt whose bytes are still to be read (by attachment id). */
export interface ImageToRead {
  id: string;
  image: PromptImage;
}

export interface BuiltPrompt {
  messages: PromptMessage[];
  /** Fill each `image.data` before sending (images are read only for messages kept). */
  imagesToRead: ImageToRead[];
}

/** A saved user message as a prompt: its text with its documents, and its images. */
function userTurn(
  content: string,
  attachmentIds: readonly unknown[] | undefined,
  files: ReadonlyMap<string, PromptFile>,
  vision: boolean,
  imagesToRead: ImageToRead[],
): { message: PromptMessage; size: number } {
  const carried = (attachmentIds ?? [])
    .map((id) => files.get(String(id)))
    .filter((file): file is PromptFile => !!file);
  if (carried.length === 0) return { message: { role: 'user', content }, size: content.length };
  const images: PromptImage[] = [];
  const notes: string[] = [];
  for (const file of carried) {
    if (file.kind !== 'image') continue;
    if (!vision) {
      // An image of an earlier turn, and this chat's model now cannot see: say it was there.
      notes.push(`[An image was attached here (${file.filename}); this model cannot see it.]`);
      continue;
    }
    const image: PromptImage = { mediaType: file.mediaType, data: '' };
    images.push(image);
    imagesToRead.push({ id: file.id, image });
  }
  const text = [promptTextOf(content, carried), ...notes].join('\n\n');
  return {
    message: { role: 'user', content: text, ...(images.length ? { images } : {}) },
    size: text.length + images.length * IMAGE_BUDGET_CHARS,
  };
}

export function buildPrompt(
  systemInstructions: string | null | undefined,
  earlier: MessageRecord[],
  prompt: { content: string; attachmentIds?: readonly unknown[] },
  files: ReadonlyMap<string, PromptFile> = new Map(),
  vision = false,
  budget = HISTORY_BUDGET_CHARS,
): BuiltPrompt {
  const imagesToRead: ImageToRead[] = [];
  const last = userTurn(prompt.content, prompt.attachmentIds, files, vision, imagesToRead);
  let remaining = budget - last.size - (systemInstructions?.length ?? 0);
  const kept: PromptMessage[] = [];
  // `earlier` is newest first; walk back until the budget is spent.
  for (const message of earlier) {
    if (message.status === MessageStatus.STREAMING) continue;
    if (message.role === MessageRole.USER) {
      const images: ImageToRead[] = [];
      const turn = userTurn(message.content, message.attachmentIds, files, vision, images);
      if (turn.size === 0) continue;
      if (turn.size > remaining) break;
      remaining -= turn.size;
      imagesToRead.push(...images);
      kept.push(turn.message);
      continue;
    }
    // A reply that called tools goes with its steps (each model client writes them in its
    // provider's form), so the model sees what it called and what came back.
    const called = message.parts?.some((part) => part.type === MessagePartType.TOOL_CALL);
    const size = called ? JSON.stringify(message.parts).length : message.content.length;
    // A failed reply with no text adds nothing but confusion.
    if (size === 0 || (!called && message.content === '')) continue;
    if (size > remaining) break;
    remaining -= size;
    kept.push({
      role: 'assistant',
      content: message.content,
      ...(called ? { steps: stepsOf(message.parts!) } : {}),
    });
  }
  kept.reverse();
  return {
    messages: [
      ...(systemInstructions ? [{ role: 'system' as const, content: systemInstructions }] : []),
      ...kept,
      last.message,
    ],
    imagesToRead,
  };
}
