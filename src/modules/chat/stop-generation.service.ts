import type { Models } from '../models';
import { MessageStatus } from './chat-enums';
import type { MessageRecord } from './message.model';
import type { MessageService } from './message.service';
import type { GenerationManager } from './streaming/generation-manager';

/** stopGeneration: ends a reply with the text so far, aborting the upstream request at once. */
export class StopGenerationService {
  constructor(
    private readonly models: Models,
    private readonly messages: MessageService,
    private readonly generations: GenerationManager,
  ) {}

  async stop(userId: string, messageId: string): Promise<MessageRecord> {
    const message = await this.messages.getOwned(userId, messageId);
    if (message.status !== MessageStatus.STREAMING) return message;
    const generation = this.generations.get(messageId);
    if (generation) return (await generation.stop('stopped')) ?? message;
    // Streaming in no process here (an instance that died): settle it as stopped.
    const settled = await this.models.Message.findOneAndUpdate(
      { _id: messageId, userId, status: MessageStatus.STREAMING },
      { $set: { status: MessageStatus.STOPPED } },
      { returnDocument: 'after' },
    ).lean();
    return settled ?? (await this.messages.getOwned(userId, messageId));
  }
}
