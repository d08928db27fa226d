import { mongo, Types } from 'mongoose';
import {
  BadUserInputError,
  ConflictError,
  NotFoundError,
  RateLimitedError,
  ServiceUnavailableError,
} from '../../errors/errors';
import type { Viewer } from '../../graphql/context';
import { modelInfoOf } from '../../llm/model-info';
import type { ToolRegistry } from '../tools/tool-registry';
import type { ToolRunner } from '../tools/tool-runner';
import type { ModelClients } from '../../llm/model-clients';
import type { RateLimits } from '../../rate-limit/rate-limits';
import type { EmailVerifiedGuard } from '../auth/email-verified.guard';
import type { ChatEvents } from './chat-events';
import { ChatEventType, MessageRole, MessageStatus } from './chat-enums';
import type { EditMessageInput, RegenerateReplyInput, SendMessageInput } from './chat.inputs';
import { TitleSource, type ChatRecord, type StoredLlmConfig, type ChatModel } from './chat.model';
import type { NewMessages, Placement, ReplyPlacement } from './branches/reply-placement';
import type { LlmConfigInput } from './llm-config.type';
import type { ChatService } from './chat.service';
import {
  buildPrompt,
  contextBudgetOf,
  HISTORY_BUDGET_CHARS,
  HISTORY_MAX_MESSAGES,
  promptSizeOf,
} from './history';
import type { PromptAttachments, PromptFile } from '../attachments/prompt-attachments';
import type { MessageRecord, MessageModel } from './message.model';
import type { MessageService } from './message.service';
import type { ReplyManager, PendingSlot } from './streaming/reply-manager';
import { titleFromPrompt, type TitleImprover } from './titles';
import { updateByIdIf } from '../../db/by-id';
import type { OpenAccounts } from './open-accounts';
import { orUndo } from '../../util/or-undo';
import type { ReplyBudget, ReplyCharge } from '../billing/reply-budget';

const DUPLICATE_KEY = 11000;
/** Replies one user may have streaming at once. */
export const MAX_CONCURRENT_REPLIES_PER_USER = 3;
/** A prompt refused during shutdown is worth sending again after this (a restart, or another instance). */
const SHUTDOWN_RETRY_AFTER_SECONDS = 5;
/** A retry that raced the first call waits this long for the first call's reply to exist. */
const IDEMPOTENT_WAIT_MS = 5_000;

/**
 * The most characters a reply's model may be sent, for its budget reservation: the prompt with
 * its attachments, the system instructions, and, where the chat has earlier messages, as much
 * history as buildPrompt may add (it fills up to HISTORY_BUDGET_CHARS with the prompt).
 */
function inputCharsOf(
  promptChars: number,
  hasHistory: boolean,
  systemInstructions: string | null | undefined,
): number {
  const system = systemInstructions?.length ?? 0;
  return hasHistory ? Math.max(promptChars, HISTORY_BUDGET_CHARS) + system : promptChars + system;
}

/** What a send chose for its reply beside its prompt. */
interface ReplyChoices {
  systemInstructions?: string | null;
  /** Its own tools; else the chat's. */
  tools?: string[] | null;
}

/**
 * Called by each flow once its checks passed, just before it saves: reserves the reply's most
 * against the user's budget, then takes a reply slot (issue 35: refused before anything is saved).
 */
type Admit = (config: StoredLlmConfig, promptChars: number) => Promise<void>;

export interface SentPrompt {
  chat: ChatRecord;
  userMessage: MessageRecord;
  assistantMessage: MessageRecord;
}

/**
 * sendMessage, editMessage and regenerateReply: save the prompt (or take the one answered
 * again) and a STREAMING reply, answer at once, and write the reply in the background.
 * Everything that can refuse the call (limits, verification, an unknown model, someone else's
 * chat or message) is checked before anything is saved; where the messages go in the chat's
 * tree is ReplyPlacement's job.
 */
export class SendMessageService {
  /** Sends under way in this process, by idempotency key. */
  private readonly inFlight = new Map<string, Promise<SentPrompt>>();

  constructor(
    private readonly models: { Chat: ChatModel; Message: MessageModel },
    private readonly chats: ChatService,
    private readonly messages: MessageService,
    private readonly placement: ReplyPlacement,
    private readonly replies: ReplyManager,
    private readonly modelClients: ModelClients,
    private readonly titles: TitleImprover,
    private readonly events: ChatEvents,
    private readonly rateLimits: RateLimits,
    private readonly verifiedGuard: EmailVerifiedGuard,
    private readonly accounts: OpenAccounts,
    private readonly tools: { registry: Pick<ToolRegistry, 'choose'>; runner: ToolRunner },
    private readonly attachments: Pick<
      PromptAttachments,
      'check' | 'describe' | 'imageData' | 'bind'
    >,
    private readonly budget: Pick<ReplyBudget, 'reserve'>,
  ) {}

  send(viewer: Viewer, input: SendMessageInput): Promise<SentPrompt> {
    return this.idempotent(
      viewer,
      input.clientMessageId,
      async (idempotencyKey, admit) => {
        const { userId } = viewer;
        const ids = input.attachmentIds ?? [];
        if (!input.chatId) {
          const config = this.chats.resolveConfig(input.config);
          this.checkTools(input.tools, config);
          const { attachmentIds, promptChars } = await this.checkAttachments(
            userId,
            ids,
            null,
            config,
            input.prompt,
          );
          await admit(config, inputCharsOf(promptChars, false, input.systemInstructions));
          return this.placement.inNewChat(
            { userId, config, idempotencyKey, attachmentIds },
            input.prompt,
            input.systemInstructions,
          );
        }
        const chat = await this.chats.get(userId, input.chatId);
        const config = this.chats.resolveConfig(input.config, chat.config);
        this.checkTools(input.tools, config);
        const { attachmentIds, promptChars } = await this.checkAttachments(
          userId,
          ids,
          String(chat._id),
          config,
          input.prompt,
        );
        await admit(
          config,
          inputCharsOf(
            promptChars,
            chat.messageCount > 0,
            input.systemInstructions ?? chat.systemInstructions,
          ),
        );
        return this.placement.afterLeaf(
          chat,
          { userId, config, idempotencyKey, attachmentIds },
          input.prompt,
        );
      },
      { systemInstructions: input.systemInstructions, tools: input.tools },
    );
  }

  edit(viewer: Viewer, input: EditMessageInput): Promise<SentPrompt> {
    return this.idempotent(
      viewer,
      input.clientMessageId,
      async (idempotencyKey, admit) => {
        const from = await this.branchFrom(viewer, input, MessageRole.USER, idempotencyKey);
        // An edit keeps the prompt's attachments unless it names others (or none: []).
        const ids = input.attachmentIds ?? (from.original.attachmentIds ?? []).map(String);
        const { attachmentIds, promptChars } = await this.checkAttachments(
          viewer.userId,
          ids,
          String(from.chat._id),
          from.message.config,
          input.prompt,
        );
        await admit(
          from.message.config,
          inputCharsOf(
            promptChars,
            !!from.original.parentId,
            input.systemInstructions ?? from.chat.systemInstructions,
          ),
        );
        return this.placement.editOf(
          from.chat,
          from.original,
          { ...from.message, attachmentIds },
          input.prompt,
        );
      },
      { systemInstructions: input.systemInstructions, tools: input.tools },
    );
  }

  regenerate(viewer: Viewer, input: RegenerateReplyInput): Promise<SentPrompt> {
    return this.idempotent(
      viewer,
      input.clientMessageId,
      async (idempotencyKey, admit) => {
        const from = await this.branchFrom(viewer, input, MessageRole.ASSISTANT, idempotencyKey);
        let promptChars = 0;
        // The prompt answered again carries its attachments to the model chosen now.
        if (from.original.parentId) {
          const prompt = await this.messages.getOwned(
            viewer.userId,
            String(from.original.parentId),
          );
          const ids = (prompt.attachmentIds ?? []).map(String);
          ({ promptChars } = await this.checkAttachments(
            viewer.userId,
            ids,
            String(from.chat._id),
            from.message.config,
            prompt.content,
          ));
          promptChars = inputCharsOf(promptChars, !!prompt.parentId, from.chat.systemInstructions);
        }
        await admit(from.message.config, promptChars);
        return this.placement.regenerationOf(from.chat, from.original, from.message);
      },
      { tools: input.tools },
    );
  }

  /**
   * Where an edit or a regeneration starts: a finished message the caller owns, of the role
   * the call branches from, its chat, and the new messages' model.
   */
  private async branchFrom(
    { userId }: Viewer,
    input: { messageId: string; config?: LlmConfigInput | null; tools?: string[] | null },
    role: MessageRole,
    idempotencyKey: string | undefined,
  ): Promise<{ original: MessageRecord; chat: ChatRecord; message: NewMessages }> {
    const original = await this.messages.getOwned(userId, input.messageId);
    if (original.status === MessageStatus.STREAMING) {
      throw new ConflictError('This reply is still being written; stop it or wait for it to end.');
    }
    if (original.role !== role) {
      throw new BadUserInputError({
        messageId:
          role === MessageRole.USER
            ? 'Only a prompt can be edited; use regenerateReply for a reply.'
            : 'Only a reply can be regenerated; use editMessage for a prompt.',
      });
    }
    const chat = await this.chats.get(userId, String(original.chatId));
    const config = this.chats.resolveConfig(input.config, chat.config);
    this.checkTools(input.tools, config);
    return { original, chat, message: { userId, config, idempotencyKey } };
  }

  /**
   * A send's own tools must be on offer, and its model must be able to call them (a chat's
   * default tools are simply not offered to a model that cannot).
   */
  private checkTools(tools: string[] | null | undefined, config: StoredLlmConfig): void {
    if (!tools?.length) return;
    this.tools.registry.choose(tools);
    if (!modelInfoOf(config.llm, config.chatModel).tools) {
      throw new BadUserInputError({
        tools: `${config.chatModel} cannot call tools; choose a model whose modelInfo says tools.`,
      });
    }
  }

  /**
   * The attachments a prompt carries: the caller's, uploaded, not another chat's; images only
   * to a model that sees; the prompt with its documents' text within what the model reads. All
   * before anything is saved.
   */
  private async checkAttachments(
    userId: string,
    ids: readonly string[],
    chatId: string | null,
    config: StoredLlmConfig,
    prompt: string,
  ): Promise<{ attachmentIds: Types.ObjectId[] | undefined; promptChars: number }> {
    if (ids.length === 0) return { attachmentIds: undefined, promptChars: prompt.length };
    const files: PromptFile[] = await this.attachments.check(userId, ids, chatId);
    const info = modelInfoOf(config.llm, config.chatModel);
    const image = files.find((file) => file.kind === 'image');
    if (image && !info.vision) {
      throw new BadUserInputError({
        attachmentIds: `${config.chatModel} cannot read images (${image.filename}); choose a model whose modelInfo says vision.`,
      });
    }
    const size = promptSizeOf(prompt, files);
    const budget = contextBudgetOf(info);
    if (size > budget) {
      throw new BadUserInputError({
        attachmentIds: `The prompt with its attachments is about ${size} characters, ${size - budget} more than ${config.chatModel} can read at once (${budget}); attach less, or choose a model with a larger context.`,
      });
    }
    return { attachmentIds: ids.map((id) => new Types.ObjectId(id)), promptChars: size };
  }

  /**
   * A clientMessageId makes the call idempotent per user: a retry returns the first call's
   * payload and never starts a second reply.
   */
  private async idempotent(
    viewer: Viewer,
    clientMessageId: string | null | undefined,
    place: (idempotencyKey: string | undefined, admit: Admit) => Promise<Placement>,
    choices: ReplyChoices = {},
  ): Promise<SentPrompt> {
    const idempotencyKey = clientMessageId ? `${viewer.userId}:${clientMessageId}` : undefined;
    if (idempotencyKey) {
      const earlier = await this.models.Message.findOne({ idempotencyKey }).lean();
      if (earlier) return this.replay(earlier);
    }

    // A retry racing its first call in this process joins it (it must not take a reply slot
    // of its own; across instances the unique idempotency key settles the race).
    const running = idempotencyKey ? this.inFlight.get(idempotencyKey) : undefined;
    if (running) return running;
    const first = this.accept(viewer, idempotencyKey, place, choices);
    if (!idempotencyKey) return first;
    this.inFlight.set(idempotencyKey, first);
    try {
      return await first;
    } finally {
      this.inFlight.delete(idempotencyKey);
    }
  }

  /** The limits, then (admitted by the budget and a reply slot) the saves and the start of the reply. */
  private async accept(
    viewer: Viewer,
    idempotencyKey: string | undefined,
    place: (idempotencyKey: string | undefined, admit: Admit) => Promise<Placement>,
    choices: ReplyChoices,
  ): Promise<SentPrompt> {
    const { userId } = viewer;
    if (!this.replies.accepting) {
      throw new ServiceUnavailableError(
        'The server is restarting and takes no new prompts; send it again in a few seconds.',
        SHUTDOWN_RETRY_AFTER_SECONDS,
      );
    }
    await this.verifiedGuard.assertVerified(userId);
    await this.rateLimits.consume('messagesPerUserPerMinute', userId);
    // The reservation until a reply holds it (and settles it when it ends).
    const held: { charge?: ReplyCharge } = {};
    let slot: PendingSlot | undefined;
    const admit: Admit = async (config, promptChars) => {
      // The budget first: of concurrent sends, only those it covers go on to take a slot.
      held.charge = await this.budget.reserve({
        userId,
        provider: config.llm,
        model: config.chatModel,
        promptChars,
      });
      slot = (await this.replies.takeSlot(userId, MAX_CONCURRENT_REPLIES_PER_USER)) ?? undefined;
      if (!slot) {
        throw new RateLimitedError(
          5,
          `You already have ${MAX_CONCURRENT_REPLIES_PER_USER} replies being written; wait for one to finish or stop it.`,
        );
      }
    };
    try {
      let placed: Placement;
      try {
        placed = await place(idempotencyKey, admit);
      } catch (error) {
        if (
          idempotencyKey &&
          error instanceof mongo.MongoServerError &&
          error.code === DUPLICATE_KEY
        ) {
          // Another call with this clientMessageId won the race (on another instance): its
          // message was saved first and ours never was, so answer with theirs.
          const winner = await this.models.Message.findOne({ idempotencyKey }).lean();
          if (winner) return await this.replay(winner);
        }
        throw error;
      }
      await orUndo(
        async () => {
          await this.accounts.assertOpen(userId);
          await this.bindAttachments(placed);
        },
        () => this.placement.remove(placed),
      );
      await this.start(userId, placed, choices, slot!, held);
      return placed;
    } finally {
      slot?.release(); // nothing once the reply holds it
      held.charge?.release(); // nor once the reply settles it
    }
  }

  /**
   * A new prompt's attachments belong to its chat from now on (and go with it). One removed
   * since the send checked it (deleteAttachment racing the send) fails the send, NOT_FOUND,
   * and the caller takes the prompt back: a prompt never leaves out a file it named.
   */
  private async bindAttachments(placed: Placement): Promise<void> {
    const { userMessage, chat } = placed;
    const carried = (userMessage.attachmentIds ?? []).map(String);
    if (carried.length === 0 || !placed.added.includes(userMessage)) return;
    if (!(await this.attachments.bind(carried, String(chat._id)))) {
      throw new NotFoundError('Attachment');
    }
  }

  private async start(
    userId: string,
    placed: Placement,
    { systemInstructions: requestedInstructions, tools }: ReplyChoices,
    slot: PendingSlot,
    held: { charge?: ReplyCharge },
  ): Promise<void> {
    const { chat, userMessage, assistantMessage } = placed;
    const chatId = String(chat._id);
    if (placed.createdChat) this.events.publish(userId, { type: ChatEventType.CREATED, chatId });
    else this.events.publish(userId, { type: ChatEventType.UPDATED, chatId });
    for (const message of placed.added) {
      this.events.publish(userId, {
        type: ChatEventType.MESSAGE_ADDED,
        chatId,
        messageId: String(message._id),
      });
    }
    const config = assistantMessage.config!;
    const charge = held.charge;
    const info = modelInfoOf(config.llm, config.chatModel);
    const messageId = String(assistantMessage._id);
    // A new chat's first prompt has no history: skip the read.
    const history = await this.messages.onPath(placed.historyPath.slice(-HISTORY_MAX_MESSAGES));
    const carried = (userMessage.attachmentIds ?? []).map(String);
    const attachmentIds = [
      ...history.flatMap((message) => message.attachmentIds ?? []).map(String),
      ...carried,
    ];
    const files = attachmentIds.length
      ? await this.attachments.describe(attachmentIds)
      : new Map<string, PromptFile>();
    const prompt = buildPrompt(
      requestedInstructions ?? chat.systemInstructions ?? null,
      history.reverse(),
      userMessage,
      files,
      info.vision,
    );
    await Promise.all(
      prompt.imagesToRead.map(async ({ id, image }) => {
        // An image removed meanwhile (its upload swept, its bytes gone) is left out.
        image.data = await this.attachments.imageData(id).catch(() => '');
      }),
    );
    for (const message of prompt.messages) {
      if (message.images) message.images = message.images.filter((image) => image.data !== '');
    }
    this.replies.start(
      {
        messageId,
        chatId,
        userId: String(chat.userId),
        modelClient: this.modelClients[config.llm]!,
        provider: config.llm,
        model: config.chatModel,
        reasoning: info.reasoning,
        tools: info.tools
          ? this.tools.runner.forReply(tools ?? chat.tools ?? [], userId, messageId)
          : undefined,
        messages: prompt.messages,
        settle: charge && ((usage) => charge.settle(messageId, usage)),
      },
      slot,
    );
    held.charge = undefined;
    // A chat's first prompt names it (a chat made by sendMessage, or an empty one).
    if (chat.titleSource === TitleSource.PROMPT && chat.messageCount === 2) {
      await this.nameChat(userId, chat, userMessage.content, config);
    }
  }

  /** The first call's payload for a retried clientMessageId; never a second reply. */
  private async replay(keyed: MessageRecord): Promise<SentPrompt> {
    // A prompt (send, edit) names its reply; a regenerated reply names its prompt as parent.
    const [userMessageId, replyId] =
      keyed.role === MessageRole.USER ? [keyed._id, keyed.replyId] : [keyed.parentId, keyed._id];
    const deadline = Date.now() + IDEMPOTENT_WAIT_MS;
    for (;;) {
      const [chat, userMessage, assistantMessage] = await Promise.all([
        this.models.Chat.findOne({ _id: keyed.chatId, userId: keyed.userId }).lean(),
        this.models.Message.findOne({ _id: userMessageId, userId: keyed.userId }).lean(),
        this.models.Message.findOne({ _id: replyId, userId: keyed.userId }).lean(),
      ]);
      if (chat && userMessage && assistantMessage) return { chat, userMessage, assistantMessage };
      if (Date.now() > deadline) throw new NotFoundError(chat ? 'Message' : 'Chat');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
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
      await updateByIdIf(
        this.models.Chat,
        chat._id,
        { titleSource: TitleSource.PROMPT },
        { $set: { title: chat.title } },
      );
    }
    const client = this.modelClients[config.llm]!;
    if (!client.namesChats) return;
    void this.titles.improve(
      userId,
      String(chat._id),
      client,
      config.llm,
      config.chatModel,
      prompt,
    );
  }
}
