import type { PromptMessage } from '../../llm/model-client';
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

export function buildPrompt(
  systemInstructions: string | null | undefined,
  earlier: MessageRecord[],
  prompt: string,
  budget = HISTORY_BUDGET_CHARS,
): PromptMessage[] {
  let remaining = budget - prompt.length - (systemInstructions?.length ?? 0);
  const kept: PromptMessage[] = [];
  // `earlier` is newest first; walk back until the budget is spent.
  for (const message of earlier) {
    if (message.status === MessageStatus.STREAMING) continue;
    // A reply that called tools goes with its steps (each model client writes them in its
    // provider's form), so the model sees what it called and what came back.
    const called = message.parts?.some((part) => part.type === MessagePartType.TOOL_CALL);
    const size = called ? JSON.stringify(message.parts).length : message.content.length;
    // A failed reply with no text adds nothing but confusion.
    if (size === 0 || (!called && message.content === '')) continue;
    if (size > remaining) break;
    remaining -= size;
    kept.push({
      role: message.role === MessageRole.USER ? 'user' : 'assistant',
      content: message.content,
      ...(called ? { steps: stepsOf(message.parts!) } : {}),
    });
  }
  kept.reverse();
  return [
    ...(systemInstructions ? [{ role: 'system' as const, content: systemInstructions }] : []),
    ...kept,
    { role: 'user', content: prompt },
  ];
}
