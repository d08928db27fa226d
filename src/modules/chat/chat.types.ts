import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import {
  ChatEventType,
  MessagePartType,
  MessageRole,
  MessageStatus,
  ToolCallStatus,
} from './chat-enums';
import { LlmConfig } from './llm-config.type';
import { PageInfo } from '../../graphql/page-info.type';

export { PageInfo };

@ObjectType({
  simpleResolvers: true,
  description: 'Tokens a reply used, as the provider reported them.',
})
export class TokenUsage {
  @Field(() => Int, { description: 'Tokens of the prompt (history included).' })
  promptTokens!: number;

  @Field(() => Int, { description: 'Tokens of the reply.' })
  completionTokens!: number;

  @Field(() => Int, { description: 'Both together.' })
  totalTokens!: number;
}

@ObjectType({ simpleResolvers: true, description: 'A tool the model called, and how it went.' })
export class ToolCall {
  @Field(() => ID, { description: "The call's id (the provider's, unique in its reply)." })
  id!: string;

  @Field(() => String, { description: 'The tool (as `tools` lists it).' })
  name!: string;

  @Field(() => GraphQLJSONObject, { description: 'The arguments the model gave.' })
  arguments!: Record<string, unknown>;

  @Field(() => ToolCallStatus, { description: 'Where it is.' })
  status!: ToolCallStatus;

  @Field(() => String, { nullable: true, description: 'What the tool returned (COMPLETE).' })
  result!: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Why it failed or was not run (FAILED, DENIED); the model is told too.',
  })
  error!: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'One part of a message, in order.' })
export class MessagePart {
  @Field(() => MessagePartType, { description: 'What it is.' })
  type!: MessagePartType;

  @Field(() => String, { nullable: true, description: 'Its text (TEXT, REASONING).' })
  text!: string | null;

  @Field(() => ToolCall, { nullable: true, description: 'The call (TOOL_CALL).' })
  toolCall!: ToolCall | null;
}

@ObjectType({ simpleResolvers: true, description: 'One message of a chat.' })
export class Message {
  @Field(() => ID, { description: 'Identifier.' })
  id!: string;

  @Field(() => ID, { description: 'The chat it belongs to.' })
  chatId!: string;

  @Field(() => ID, {
    nullable: true,
    description:
      "The message it follows (null for a chat's first prompt). Edits and regenerated replies share their original's parent.",
  })
  parentId?: string | null;

  @Field(() => MessageRole, { description: 'Who wrote it.' })
  role!: MessageRole;

  @Field(() => String, {
    description:
      'Its answer text (every TEXT part); for a STREAMING message, the text saved so far.',
  })
  content!: string;

  @Field(() => [MessagePart], {
    description:
      'Its parts in order: answer text, reasoning and tool calls (a message of text alone is one TEXT part).',
  })
  parts!: MessagePart[];

  @Field(() => String, {
    nullable: true,
    description: "The model's reasoning (every REASONING part), when it gave any.",
  })
  reasoning!: string | null;

  @Field(() => MessageStatus, { description: 'Where it is in its life.' })
  status!: MessageStatus;

  @Field(() => String, { nullable: true, description: 'Why the model failed (FAILED only).' })
  error?: string | null;

  @Field(() => LlmConfig, {
    nullable: true,
    description: 'The model that wrote it (assistant messages).',
  })
  config?: LlmConfig | null;

  @Field(() => TokenUsage, {
    nullable: true,
    description: 'Tokens used, when the provider reported them.',
  })
  usage?: TokenUsage | null;

  /** The attachments it carries (not a field: `attachments` resolves them). */
  attachmentIds?: string[];

  @Field(() => Date, { description: 'When it was created.' })
  createdAt!: Date;

  @Field(() => Date, { description: 'When it last changed.' })
  updatedAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A conversation.' })
export class Chat {
  @Field(() => ID, { description: 'Identifier.' })
  id!: string;

  @Field(() => String, {
    description: 'Title: the first prompt at first, then a better one from the model.',
  })
  title!: string;

  @Field(() => String, {
    nullable: true,
    description: 'Instructions given to the model before the history.',
  })
  systemInstructions?: string | null;

  @Field(() => LlmConfig, { description: 'The model that answers by default.' })
  config!: LlmConfig;

  @Field(() => Int, { description: 'How many messages it holds, on every branch.' })
  messageCount!: number;

  @Field(() => Boolean, {
    description: 'Pinned by the user (filter with `chats(filter: { pinned })`).',
  })
  pinned!: boolean;

  @Field(() => Date, {
    nullable: true,
    description: 'When it was archived; archived chats are left out of `chats` unless asked for.',
  })
  archivedAt?: Date | null;

  @Field(() => [String], { description: 'Tags, as written; matched ignoring case.' })
  tags!: string[];

  @Field(() => [String], {
    description: 'The tools its replies may call (names from `tools`); none until chosen.',
  })
  tools!: string[];

  /** The active branch, root first (not a field: `messages` pages it). */
  activePath!: string[];

  @Field(() => Date, { description: 'When it was created.' })
  createdAt!: Date;

  @Field(() => Date, { description: 'When it last changed (a new message counts).' })
  updatedAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of chats, newest activity first.' })
export class ChatConnection {
  @Field(() => [Chat], { description: 'The chats of this page.' })
  nodes!: Chat[];

  @Field(() => Int, { description: 'How many chats match, on all pages.' })
  totalCount!: number;

  @Field(() => PageInfo, { description: 'Where this page ends.' })
  pageInfo!: PageInfo;
}

@ObjectType({
  simpleResolvers: true,
  description: 'What sendMessage saved; the reply streams on messageStream(assistantMessage.id).',
})
export class SendMessagePayload {
  @Field(() => Chat, { description: 'The chat (new when no chatId was given).' })
  chat!: Chat;

  @Field(() => Message, { description: 'The saved prompt.' })
  userMessage!: Message;

  @Field(() => Message, { description: 'The reply, STREAMING at first.' })
  assistantMessage!: Message;
}

@ObjectType({ simpleResolvers: true, description: 'A piece of a streaming reply, or its end.' })
export class MessageStreamEvent {
  @Field(() => ID, { description: 'The assistant message.' })
  messageId!: string;

  @Field(() => Int, {
    description: 'Order of this event, from 1; resume with `after` set to the last one seen.',
  })
  seq!: number;

  @Field(() => String, {
    description: 'New answer text ("" on other events). All deltas together are the content.',
  })
  delta!: string;

  @Field(() => String, {
    description: 'New reasoning ("" on other events). All together are the reasoning.',
  })
  reasoningDelta!: string;

  @Field(() => ToolCall, {
    nullable: true,
    description: 'A tool call as it is now, on each event that changes it.',
  })
  toolCall!: ToolCall | null;

  @Field(() => Boolean, { description: 'True on the last event, which carries the final message.' })
  done!: boolean;

  @Field(() => Message, { nullable: true, description: 'The saved message, on the done event.' })
  message?: Message | null;
}

@ObjectType({
  simpleResolvers: true,
  description: 'A change to one of your chats, from any device.',
})
export class ChatEvent {
  @Field(() => ChatEventType, { description: 'What happened.' })
  type!: ChatEventType;

  @Field(() => ID, { description: 'The chat.' })
  chatId!: string;

  @Field(() => Chat, { nullable: true, description: 'The chat as it is now (null once deleted).' })
  chat?: Chat | null;

  @Field(() => Message, {
    nullable: true,
    description: 'The message, for MESSAGE_ADDED and MESSAGE_UPDATED.',
  })
  message?: Message | null;
}

@ObjectType({ simpleResolvers: true, description: 'A tag and how many of your chats carry it.' })
export class TagCount {
  @Field(() => String, { description: 'The tag, as first written.' })
  tag!: string;

  @Field(() => Int, { description: 'Chats with this tag (archived ones included).' })
  count!: number;
}
