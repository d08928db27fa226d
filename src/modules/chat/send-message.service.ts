import { mongo, Types } from 'mongoose';
import type { Models } from '../models';
import { NotFoundError, RateLimitedError, ServiceUnavailableError } from '../../errors/errors';
import type { Viewer } from '../../kernel/context';
import type { LlmProviders } from '../../llm/providers';
import type { RateLimits } from '../../rate-limit/rate-limits';
import type { EmailVerifiedGuard } from '../auth/email-verified.guard';
import type { ChatEvents } from './chat-events';
import { ChatEventType, MessageRole, MessageStatus } from './chat-enums';
import type { SendMessageInput } from './chat.inputs';
import { TitleSource, type ChatRecord, type StoredLlmConfig } from './chat.model';
import type { ChatService } from './chat.service';
import { buildPrompt, HISTORY_MAX_MESSAGES } from './history';
import type { MessageRecord } from './message.model';
import type { MessageService } from './message.service';
import type { GenerationManager, PendingSlot } from './streaming/generation-manager';
import { titleFromPrompt, type TitleImprover } from './titles';

const DUPLICATE_KEY = 11000;
/** Replies one user may have streaming at once. */
export const MAX_CONCURRENT_GENERATIONS_PER_USER = 3;
/** A prompt refused during shutdown is worth sending again after this (a restart, or another instance). */
const SHUTDOWN_RETRY_AFTER_SECONDS = 5;
/** A retry that raced the first call waits this long for the first call's reply to exist. */
const IDEMPOTENT_WAIT_MS = 5_000;

export interface SendResult {
  chat: ChatRecord;
  userMessage: MessageRecord;
  assistantMessage: MessageRecord;
}

/**
 * sendMessage: save the prompt and a STREAMING reply, answer at once, and write the reply in
 * the background. Everything that can refuse the call (limits, verification, an unknown
 * model, someone else's chat) is checked before anything is saved.
 */
export class SendMessageService {
  /** Sends under way in this process, by idempotency key. */
  private readonly inFlight = new Map<string, Promise<SendResult>>();

  constructor(
    private readonly models: Models,
    private readonly chats: ChatService,
    private readonly messages: MessageService,
    private readonly generations: GenerationManager,
    private readonly providers: LlmProviders,
    private readonly titles: TitleImprover,
    private readonly events: ChatEvents,
    private readonly rateLimits: RateLimits,
    private readonly verifiedGuard: EmailVerifiedGuard,
  ) {}

  async send(viewer: Viewer, input: SendMessageInput): Promise<SendResult> {
    const { userId } = viewer;
    const idempotencyKey = input.clientMessageId ? `${userId}:${input.clientMessageId}` : undefined;
    if (idempotencyKey) {
      const earlier = await this.models.Message.findOne({ idempotencyKey }).lean();
      if (earlier) return this.replay(earlier);
    }

    // A retry racing its first call in this process joins it (it must not take a reply slot
    // of its own; across instances the unique idempotency key settles the race).
    const running = idempotencyKey ? this.inFlight.get(idempotencyKey) : undefined;
    if (running) return running;
    if (!idempotencyKey) return this.accept(viewer, input, undefined);
    const first = this.accept(viewer, input, idempotencyKey);
    this.inFlight.set(idempotencyKey, first);
    try {
      return await first;
    } finally {
      this.inFlight.delete(idempotencyKey);
    }
  }

  /** The limits, then the saves and the start of the reply. */
  private async accept(
    viewer: Viewer,
    input: SendMessageInput,
    idempotencyKey: string | undefined,
  ): Promise<SendResult> {
    const { userId } = viewer;
    if (!this.generations.accepting) {
      throw new ServiceUnavailableError(
        'The server is restarting and takes no new prompts; send it again in a few seconds.',
        SHUTDOWN_RETRY_AFTER_SECONDS,
      );
    }
    await this.verifiedGuard.assertVerified(userId);
    await this.rateLimits.consume('messagesPerUserPerMinute', userId);
    const slot = await this.generations.takeSlot(userId, MAX_CONCURRENT_GENERATIONS_PER_USER);
    if (!slot) {
      throw new RateLimitedError(
        5,
        `You already have ${MAX_CONCURRENT_GENERATIONS_PER_USER} replies being written; wait for one to finish or stop it.`,
      );
    }
    try {
      return await this.saveAndStart(viewer, input, idempotencyKey, slot);
    } finally {
      slot.release(); // nothing once the reply holds it
    }
  }

  private async saveAndStart(
    viewer: Viewer,
    input: SendMessageInput,
    idempotencyKey: string | undefined,
    slot: PendingSlot,
  ): Promise<SendResult> {
    const { userId } = viewer;
    const existing = input.chatId ? await this.chats.get(userId, input.chatId) : null;
    const config = this.chats.resolveConfig(input.config, existing?.config);

    // Positions: a new chat starts at 1; an existing one takes the next two numbers atomically.
    const chat = existing
      ? await this.reservePositions(existing)
      : await this.createChat(userId, input, config);
    const userMessageId = new Types.ObjectId();
    const replyId = new Types.ObjectId();
    let userMessage: MessageRecord;
    try {
      userMessage = (
        await this.models.Message.create({
          _id: userMessageId,
          chatId: chat._id,
          userId: new Types.ObjectId(userId),
          position: chat.messageCount - 1,
          role: MessageRole.USER,
          content: input.prompt,
          status: MessageStatus.COMPLETE,
          idempotencyKey,
          replyId,
        })
      ).toObject();
    } catch (error) {
      if (
        idempotencyKey &&
        error instanceof mongo.MongoServerError &&
        error.code === DUPLICATE_KEY
      ) {
        // Another call with this clientMessageId won the race: undo ours and answer with theirs.
        await this.undoReservation(chat, !existing);
        const winner = await this.models.Message.findOne({ idempotencyKey }).lean();
        if (winner) return this.replay(winner);
      }
      throw error;
    }

    const systemInstructions = input.systemInstructions ?? chat.systemInstructions ?? null;
    const assistantMessage = (
      await this.models.Message.create({
        _id: replyId,
        chatId: chat._id,
        userId: new Types.ObjectId(userId),
        position: chat.messageCount,
        role: MessageRole.ASSISTANT,
        content: '',
        status: MessageStatus.STREAMING,
        config,
      })
    ).toObject();

    const chatId = String(chat._id);
    for (const message of [userMessage, assistantMessage]) {
      this.events.publish(userId, {
        type: ChatEventType.MESSAGE_ADDED,
        chatId,
        messageId: String(message._id),
      });
    }
    await this.startGeneration(
      chat,
      userMessage,
      assistantMessage,
      config,
      systemInstructions,
      slot,
    );
    if (chat.titleSource === TitleSource.PROMPT && chat.messageCount === 2) {
      await this.nameChat(userId, chat, input.prompt, config);
    }
    return { chat, userMessage, assistantMessage };
  }

  private async createChat(
    userId: string,
    input: SendMessageInput,
    config: StoredLlmConfig,
  ): Promise<ChatRecord> {
    const chat = await this.models.Chat.create({
      userId: new Types.ObjectId(userId),
      title: titleFromPrompt(input.prompt),
      titleSource: TitleSource.PROMPT,
      systemInstructions: input.systemInstructions || null,
      config,
      messageCount: 2,
    });
    this.events.publish(userId, { type: ChatEventType.CREATED, chatId: String(chat._id) });
    return chat.toObject();
  }

  private async reservePositions(chat: ChatRecord): Promise<ChatRecord> {
    // Ownership was checked when `chat` was read in this call; a chat never changes owner.
    const updated = await this.models.Chat.findOneAndUpdate(
      { _id: chat._id },
      { $inc: { messageCount: 2 } },
      { returnDocument: 'after' },
    ).lean();
    if (!updated) throw new NotFoundError('Chat');
    this.events.publish(String(chat.userId), {
      type: ChatEventType.UPDATED,
      chatId: String(chat._id),
    });
    return updated;
  }

  private async undoReservation(chat: ChatRecord, created: boolean): Promise<void> {
    if (created) await this.models.Chat.deleteOne({ _id: chat._id });
    else await this.models.Chat.updateOne({ _id: chat._id }, { $inc: { messageCount: -2 } });
  }

  /** The first call's payload for a retried clientMessageId; never a second generation. */
  private async replay(userMessage: MessageRecord): Promise<SendResult> {
    const deadline = Date.now() + IDEMPOTENT_WAIT_MS;
    for (;;) {
      const [chat, assistantMessage] = await Promise.all([
        this.models.Chat.findOne({ _id: userMessage.chatId, userId: userMessage.userId }).lean(),
        this.models.Message.findOne({
          _id: userMessage.replyId,
          userId: userMessage.userId,
        }).lean(),
      ]);
      if (chat && assistantMessage) return { chat, userMessage, assistantMessage };
      if (!chat && Date.now() > deadline) throw new NotFoundError('Chat');
      if (Date.now() > deadline) throw new NotFoundError('Message');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private async startGeneration(
    chat: ChatRecord,
    userMessage: MessageRecord,
    assistantMessage: MessageRecord,
    config: StoredLlmConfig,
    systemInstructions: string | null,
    slot: PendingSlot,
  ): Promise<void> {
    // The first prompt of a chat has no history: skip the query (on FerretDB every query on
    // a field other than _id scans the collection, so this saves the most costly read).
    const earlier =
      userMessage.position > 1
        ? await this.messages.earlier(String(chat._id), userMessage.position, HISTORY_MAX_MESSAGES)
        : [];
    this.generations.start(
      {
        messageId: String(assistantMessage._id),
        chatId: String(chat._id),
        userId: String(chat.userId),
        provider: this.providers[config.llm]!,
        model: config.chatModel,
        messages: buildPrompt(systemInstructions, earlier, userMessage.content),
      },
      slot,
    );
  }

  /** The first prompt names a new chat; the model may improve the name in the background. */
  private async nameChat(
    userId: string,
    chat: ChatRecord,
    prompt: string,
    config: StoredLlmConfig,
  ): Promise<void> {
    if (chat.title === 'New chat') {
      chat.title = titleFromPrompt(prompt);
      await this.models.Chat.updateOne(
        { _id: chat._id, titleSource: TitleSource.PROMPT },
        { $set: { title: chat.title } },
      );
    }
    if (config.llm === 'ECHO') return; // the echo model has nothing better to say
    void this.titles.improve(
      userId,
      String(chat._id),
      this.providers[config.llm]!,
      config.chatModel,
      prompt,
    );
  }
}
