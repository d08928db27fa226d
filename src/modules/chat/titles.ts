import type { Logger } from '../../log/logger';
import type { ModelClient } from '../../llm/model-client';
import type { ChatEvents } from './chat-events';
import { TitleSource, type ChatModel } from './chat.model';
import { ChatEventType } from './chat-enums';
import { updateByIdIf } from '../../db/by-id';
import type { ReplyBudget } from '../billing/reply-budget';

export const TITLE_LIMITS = {
  fromPromptChars: 60,
  fromModelChars: 80,
  maxTokens: 24,
  timeoutMs: 15_000,
} as const;

/** A first title: the prompt's first line, cut at a word near 60 characters. */
export function titleFromPrompt(prompt: string): string {
  const line = prompt.trim().split('\n')[0]!.replace(/\s+/g, ' ');
  if (line.length <= TITLE_LIMITS.fromPromptChars) return line || 'New chat';
  const cut = line.slice(0, TITLE_LIMITS.fromPromptChars);
  const atWord = cut.slice(0, cut.lastIndexOf(' ') > 20 ? cut.lastIndexOf(' ') : cut.length);
  return `${atWord}…`;
}

function cleanTitle(raw: string): string {
  return raw
    .replace(/[\r\n]+/g, ' ')
    .replace(/^["'“”\s]+|["'“”.\s]+$/g, '')
    .slice(0, TITLE_LIMITS.fromModelChars)
    .trim();
}

/**
 * Asks the chat's model for a better title, in the background. A failure keeps the first
 * title; a title the user set meanwhile is never overwritten (the update matches PROMPT only).
 */
export class TitleImprover {
  /** Aborted on shutdown; each call is also bounded by the model client's own timeout. */
  private readonly shutdown = new AbortController();

  constructor(
    private readonly models: { Chat: ChatModel },
    private readonly events: ChatEvents,
    private readonly logger: Logger,
    /** Every model call counts (issue 35): a title's usage too. */
    private readonly budget: Pick<ReplyBudget, 'countCall'>,
  ) {}

  close(): void {
    this.shutdown.abort(new Error('shutting down'));
  }

  improve(
    userId: string,
    chatId: string,
    client: ModelClient,
    provider: string,
    model: string,
    prompt: string,
  ): Promise<void> {
    return this.run(userId, chatId, client, provider, model, prompt).catch((error) => {
      this.logger.warn({ err: error, chatId }, 'title suggestion failed; keeping the first title');
    });
  }

  private async run(
    userId: string,
    chatId: string,
    client: ModelClient,
    provider: string,
    model: string,
    prompt: string,
  ) {
    const suggestion = await client.complete({
      model,
      onUsage: (usage) =>
        this.budget.countCall({ id: `title:${chatId}`, userId, provider, model, usage }),
      maxTokens: TITLE_LIMITS.maxTokens,
      signal: this.shutdown.signal,
      messages: [
        {
          role: 'system',
          content:
            'Give this conversation a short title of at most six words. Answer with the title only.',
        },
        { role: 'user', content: prompt.slice(0, 4_000) },
      ],
    });
    const title = cleanTitle(suggestion);
    if (!title) return;
    const updated = await updateByIdIf(
      this.models.Chat,
      chatId,
      { titleSource: TitleSource.PROMPT },
      { $set: { title, titleSource: TitleSource.MODEL } },
    );
    if (updated) this.events.publish(userId, { type: ChatEventType.UPDATED, chatId });
  }
}
