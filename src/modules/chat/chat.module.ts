import type { Config } from '../../config/config';
import { instancesOf, type AppModule } from '../../graphql/app-module';
import type { LlmCatalog } from '../../llm/catalog';
import { createModelClients } from '../../llm/model-clients';
import type { Logger } from '../../log/logger';
import type { Metrics } from '../../metrics/metrics';
import { ReplyTelemetry } from '../../telemetry/reply-telemetry';
import type { PalaverPubSub } from '../../pubsub/pubsub';
import type { RedisClients } from '../../redis/redis-clients';
import type { RateLimits } from '../../rate-limit/rate-limits';
import type { EmailVerifiedGuard } from '../auth/email-verified.guard';
import type { Connection } from 'mongoose';
import { bindModel } from '../../db/models';
import type { UsersModels } from '../users/users.module';
import { ChatRecord, type ChatModel } from './chat.model';
import { MessageRecord, type MessageModel } from './message.model';
import { ChatShareRecord, type ChatShareModel } from './sharing/chat-share.model';
import { BranchService } from './branches/branch.service';
import { BranchesResolver } from './branches/branches.resolver';
import { migrateLegacyChats } from './branches/legacy-chats';
import { SettledMessages } from './settled-messages';
import { ChatIdsByUser } from './chat-ids-by-user';
import { databaseKindOf } from '../../db/connection';
import { ReplyPlacement } from './branches/reply-placement';
import { ChatDataEraser } from './chat-data-eraser';
import { ChatEventReader } from './chat-event-reader';
import { ChatEvents } from './chat-events';
import { ChatEventType, MessageStatus } from './chat-enums';
import { ChatSubscriptionsResolver } from './chat-subscriptions.resolver';
import { ChatResolver } from './chat.resolver';
import { ChatService } from './chat.service';
import { MessageService } from './message.service';
import { SendMessageResolver } from './send-message.resolver';
import { SendMessageService } from './send-message.service';
import { ChatShareResolver } from './sharing/chat-share.resolver';
import { ChatShareService } from './sharing/chat-share.service';
import { StopReplyService } from './stop-reply.service';
import { DEFAULT_REPLY_OPTIONS, type ReplyOptions } from './streaming/reply';
import { ReplyManager } from './streaming/reply-manager';
import { ClusterReplies } from './streaming/cluster/cluster-replies';
import { DEFAULT_CLUSTER_TIMING, type ClusterTiming } from './streaming/cluster/cluster-timing';
import { LiveChannels } from './streaming/cluster/live-channels';
import { RedisReplyLogs } from './streaming/cluster/redis-reply-logs';
import { RedisReplySlots } from './streaming/cluster/redis-reply-slots';
import { InProcessReplyLogs } from './streaming/in-process-reply-logs';
import type { ReplyLogs } from './streaming/reply-log';
import { LocalReplySlots, type ReplySlots } from './streaming/reply-slots';
import { ReplyFollower } from './streaming/reply-follower';
import { TitleImprover } from './titles';
import { ToolApprovalResolver } from './tool-approval.resolver';
import { ToolApprovalService } from './tool-approval.service';
import type { ToolsModule } from '../tools/tools.module';
import type { OpenAccounts } from './open-accounts';
import { MessageAttachmentsResolver } from './message-attachments.resolver';
import type { PromptAttachments } from '../attachments/prompt-attachments';
import type { AttachmentService } from '../attachments/attachment.service';
import type { ReplyBudget } from '../billing/reply-budget';

/** The chat feature's part of the schema; the module gives an instance of each. */
export const CHAT_RESOLVERS = [
  ChatResolver,
  SendMessageResolver,
  BranchesResolver,
  ChatShareResolver,
  ChatSubscriptionsResolver,
  ToolApprovalResolver,
  MessageAttachmentsResolver,
] as const;

/** The chat feature's collections. */
export interface ChatModels {
  Chat: ChatModel;
  Message: MessageModel;
  ChatShare: ChatShareModel;
}

export function bindChatModels(connection: Connection): ChatModels {
  return {
    Chat: bindModel(connection, 'Chat', ChatRecord),
    Message: bindModel(connection, 'Message', MessageRecord),
    ChatShare: bindModel(connection, 'ChatShare', ChatShareRecord),
  };
}

/** Replies being written get this long to finish on shutdown, then are saved INTERRUPTED. */
const REPLY_SHUTDOWN_GRACE_MS = 5_000;

/** Knobs for tests and benchmarks; production uses the defaults. */
export interface ChatTuning extends Partial<ReplyOptions> {
  firstByteTimeoutMs?: number;
  idleTimeoutMs?: number;
  retriesBeforeFirstToken?: number;
  echoWordDelayMs?: number;
  shutdownGraceMs?: number;
  /** Lease, sweep and stop timing in a cluster. */
  cluster?: Partial<ClusterTiming>;
  /** In a cluster: how long entries of replies nobody follows elsewhere wait to be written. */
  replyLogWindowMs?: number;
}

export interface ChatModuleDependencies {
  config: Config;
  logger: Logger;
  /** Its own, and the users' (links are counted per user). */
  models: ChatModels & Pick<UsersModels, 'User'>;
  pubSub: PalaverPubSub;
  /** Set when REDIS_URL is: replies are then shared by every instance. */
  redis?: RedisClients;
  rateLimits: RateLimits;
  metrics?: Metrics;
  catalog: LlmCatalog;
  verifiedGuard: EmailVerifiedGuard;
  /** Whether data just written for a user may stay (not while the account is being deleted). */
  accounts: OpenAccounts;
  /** The tools replies may call, and approveToolCall's answers. */
  tools: Pick<ToolsModule, 'registry' | 'runner' | 'approvals'>;
  /** What prompts carry: checked, sent to models, removed with their chat. */
  attachments: { prompts: PromptAttachments; library: Pick<AttachmentService, 'byIds'> };
  /** Each reply's reservation against its user's budget, and the count of every model call. */
  budget: ReplyBudget;
  tuning?: ChatTuning;
}

export interface ChatModule extends AppModule {
  /** The replies being written by this process. */
  replies: ReplyManager;
  /** Removes a user's chats, messages and links (the account is being deleted). */
  eraser: ChatDataEraser;
}

/** Chats, messages, sendMessage and the streamed replies. */
export async function createChatModule(deps: ChatModuleDependencies): Promise<ChatModule> {
  const { config, logger, models, pubSub, redis, rateLimits, metrics, catalog, verifiedGuard } =
    deps;
  const { accounts, tools, attachments, budget } = deps;
  const tuning = deps.tuning ?? {};
  if (!redis) await interruptOrphanedReplies(models, logger);
  await migrateLegacyChats(models, logger);

  const chatEvents = new ChatEvents(pubSub);
  // Only where this instance is the database's one writer (the local database serves one):
  // another instance's deletions would not reach this process's memory.
  const settled =
    !redis && databaseKindOf(models.Message.db) === 'ferretdb' ? new SettledMessages() : undefined;
  const chatIds = settled ? new ChatIdsByUser(models) : undefined;
  const messageService = new MessageService(models, settled);
  const channels = redis ? new LiveChannels(redis.subscriber) : undefined;
  let disowned: (messageId: string) => void = () => {};
  const replyLogs: ReplyLogs = redis
    ? new RedisReplyLogs(
        redis.commands,
        channels!,
        redis.instanceId,
        (messageId) => models.Message.findById(messageId).lean(),
        logger,
        (messageId) => disowned(messageId),
        metrics,
        tuning.replyLogWindowMs,
      )
    : new InProcessReplyLogs(metrics);
  const slots: ReplySlots = redis ? new RedisReplySlots(redis.commands) : new LocalReplySlots();
  const replies = new ReplyManager(
    models,
    replyLogs,
    slots,
    {
      ...DEFAULT_REPLY_OPTIONS,
      coalesceMs: config.llm.streamCoalesceMs,
      maxReplyMs: config.llm.maxReplyMs,
      ...tuning,
    },
    logger,
    // Every device of the user sees a reply's final state in its chat list.
    (record, request) => {
      if (!record) return;
      // The chat is read again right after its reply (the client's refresh).
      settled?.remember(record);
      chatEvents.publish(request.userId, {
        type: ChatEventType.MESSAGE_UPDATED,
        chatId: request.chatId,
        messageId: request.messageId,
      });
    },
    new ReplyTelemetry(metrics),
  );
  disowned = (messageId) => void replies.get(messageId)?.stop('interrupted');
  const cluster = redis
    ? new ClusterReplies(
        redis.commands,
        channels!,
        redis.instanceId,
        models,
        replies,
        logger,
        { ...DEFAULT_CLUSTER_TIMING, ...tuning.cluster },
        metrics,
      )
    : undefined;
  await cluster?.start();
  const stops = new StopReplyService(models, messageService, replies, cluster);
  const chatService = new ChatService(
    models,
    catalog,
    chatEvents,
    stops,
    accounts,
    tools.registry,
    attachments.prompts,
    settled,
    chatIds,
  );
  const titles = new TitleImprover(models, chatEvents, logger, budget);
  const sendMessage = new SendMessageService(
    models,
    chatService,
    messageService,
    new ReplyPlacement(models, messageService, chatIds),
    replies,
    createModelClients(config.llm, tuning),
    titles,
    chatEvents,
    rateLimits,
    verifiedGuard,
    accounts,
    tools,
    attachments.prompts,
    budget,
  );

  return {
    replies,
    eraser: new ChatDataEraser(models, stops, settled, chatIds),
    resolvers: instancesOf(CHAT_RESOLVERS, [
      new ChatResolver(chatService, messageService, verifiedGuard),
      new SendMessageResolver(sendMessage, stops),
      new BranchesResolver(
        new BranchService(models, chatService, messageService, chatEvents),
        messageService,
      ),
      new ChatShareResolver(
        new ChatShareService(
          models,
          chatService,
          messageService,
          rateLimits,
          {
            appUrl: config.appUrl,
            secretKey: config.auth.secretKey,
          },
          accounts,
          attachments.prompts,
        ),
      ),
      new ChatSubscriptionsResolver(
        new ReplyFollower(messageService, replyLogs, metrics),
        chatEvents,
        new ChatEventReader(models),
      ),
      new ToolApprovalResolver(new ToolApprovalService(messageService, tools.approvals)),
      new MessageAttachmentsResolver(attachments.library),
    ]),
    // Replies first (new prompts are refused from this moment), while subscribers are still
    // connected to see them end.
    drain: async () => {
      titles.close();
      await replies.shutdown(tuning.shutdownGraceMs ?? REPLY_SHUTDOWN_GRACE_MS);
      await replyLogs.flush();
      await cluster?.close();
    },
    stop: () => {
      slots.close();
      replyLogs.close();
    },
  };
}

/**
 * A reply left STREAMING by a process that is gone can never finish. With one process (no
 * REDIS_URL) every such reply at startup is from a process that died.
 */
async function interruptOrphanedReplies(
  models: Pick<ChatModels, 'Message'>,
  logger: Logger,
): Promise<void> {
  const interrupted = await models.Message.updateMany(
    { status: MessageStatus.STREAMING },
    { $set: { status: MessageStatus.INTERRUPTED } },
  );
  if (interrupted.modifiedCount > 0) {
    logger.warn(
      { count: interrupted.modifiedCount },
      'replies left streaming by an earlier process are now INTERRUPTED',
    );
  }
}
