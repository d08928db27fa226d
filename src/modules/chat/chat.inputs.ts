import { Field, ID, InputType } from 'type-graphql';
import {
  ArrayMaxSize,
  IsNotEmpty,
  IsOptional,
  Length,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { LlmConfigInput } from './llm-config.type';

export const CHAT_LIMITS = {
  maxTitleLength: 200,
  maxSystemInstructionsLength: 8_000,
  /** About 8,000 tokens of prompt; longer text belongs in a document feature. */
  maxPromptLength: 32_000,
  maxClientMessageIdLength: 100,
  maxTags: 20,
  maxTagLength: 40,
  /** Entries of one `tags` list before repeats are dropped; a longer list is refused unread. */
  maxTagEntries: 100,
  /** Tools one chat or one send may choose. */
  maxTools: 64,
} as const;

@InputType({ description: 'A new chat; every field is optional.' })
export class CreateChatInput {
  @Field(() => String, { nullable: true, description: 'Title; "New chat" when left out.' })
  @IsOptional()
  @Length(1, CHAT_LIMITS.maxTitleLength)
  title?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Instructions given to the model before the history.',
  })
  @IsOptional()
  @MaxLength(CHAT_LIMITS.maxSystemInstructionsLength)
  systemInstructions?: string | null;

  @Field(() => LlmConfigInput, {
    nullable: true,
    description: "The chat's model; the server default when left out.",
  })
  @IsOptional()
  @ValidateNested()
  config?: LlmConfigInput | null;
}

@InputType({ description: 'Chat changes; fields left out stay as they are.' })
export class UpdateChatInput {
  @Field(() => String, {
    nullable: true,
    description: 'New title; the model no longer changes it.',
  })
  @IsOptional()
  @Length(1, CHAT_LIMITS.maxTitleLength)
  title?: string | null;

  @Field(() => String, { nullable: true, description: 'New system instructions ("" clears them).' })
  @IsOptional()
  @MaxLength(CHAT_LIMITS.maxSystemInstructionsLength)
  systemInstructions?: string | null;

  @Field(() => LlmConfigInput, { nullable: true, description: 'New default model.' })
  @IsOptional()
  @ValidateNested()
  config?: LlmConfigInput | null;

  @Field(() => Boolean, { nullable: true, description: 'Pin or unpin it.' })
  @IsOptional()
  pinned?: boolean | null;

  @Field(() => Boolean, {
    nullable: true,
    description: 'Archive it (hidden from `chats` by default) or bring it back.',
  })
  @IsOptional()
  archived?: boolean | null;

  @Field(() => [String], {
    nullable: true,
    description: `Its tags, replacing the old ones: at most ${CHAT_LIMITS.maxTags}, each 1 to ${CHAT_LIMITS.maxTagLength} characters once trimmed, with no control or bidirectional-override characters; repeats (ignoring case) are dropped.`,
  })
  @IsOptional()
  @ArrayMaxSize(CHAT_LIMITS.maxTagEntries, {
    message: `A chat may have at most ${CHAT_LIMITS.maxTags} tags.`,
  })
  tags?: string[] | null;

  @Field(() => [String], {
    nullable: true,
    description: `The tools its replies may call (names from \`tools\`; [] for none), at most ${CHAT_LIMITS.maxTools}.`,
  })
  @IsOptional()
  @ArrayMaxSize(CHAT_LIMITS.maxTools, { message: `At most ${CHAT_LIMITS.maxTools} tools.` })
  tools?: string[] | null;
}

@InputType({ description: 'Which chats to list.' })
export class ChatFilter {
  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description: 'Archived chats only (true), the others (false, the default), or both (null).',
  })
  @IsOptional()
  archived?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: 'Pinned chats only, or unpinned only.' })
  @IsOptional()
  pinned?: boolean | null;

  @Field(() => String, { nullable: true, description: 'Chats with this tag, ignoring case.' })
  @IsOptional()
  @MaxLength(CHAT_LIMITS.maxTagLength + 100)
  tag?: string | null;
}

/** What every call that starts a reply takes: its model, and an id that makes it idempotent. */
@InputType('ReplyRequestInput', { description: 'Shared by the inputs that start a reply.' })
abstract class ReplyRequestInput {
  @Field(() => LlmConfigInput, {
    nullable: true,
    description: "This reply's model; else the chat's, else the server's.",
  })
  @IsOptional()
  @ValidateNested()
  config?: LlmConfigInput | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Any id the client picks per prompt; a retry with the same id returns the first payload.',
  })
  @IsOptional()
  @Matches(/^[A-Za-z0-9._:-]+$/, { message: 'Use letters, digits and . _ : - only.' })
  @MaxLength(CHAT_LIMITS.maxClientMessageIdLength)
  clientMessageId?: string | null;

  @Field(() => [String], {
    nullable: true,
    description: "The tools this reply may call (names from `tools`); else the chat's.",
  })
  @IsOptional()
  @ArrayMaxSize(CHAT_LIMITS.maxTools, { message: `At most ${CHAT_LIMITS.maxTools} tools.` })
  tools?: string[] | null;
}

/** A reply request that brings a prompt of its own (sendMessage, editMessage). */
@InputType('PromptRequestInput', { description: 'Shared by the inputs that bring a prompt.' })
abstract class PromptRequestInput extends ReplyRequestInput {
  @Field(() => String, {
    description: `The prompt, up to ${CHAT_LIMITS.maxPromptLength} characters.`,
  })
  @IsNotEmpty({ message: 'Write a prompt.' })
  @MaxLength(CHAT_LIMITS.maxPromptLength, {
    message: `A prompt may be at most ${CHAT_LIMITS.maxPromptLength} characters.`,
  })
  prompt!: string;

  @Field(() => [ID], {
    nullable: true,
    description:
      "Uploaded attachments the prompt carries (createUpload, then PUT); an edit left without keeps the original prompt's.",
  })
  @IsOptional()
  @ArrayMaxSize(100, { message: 'Too many attachments.' })
  attachmentIds?: string[] | null;
}

@InputType({ description: 'A prompt. Without chatId a new chat is created for it.' })
export class SendMessageInput extends PromptRequestInput {
  @Field(() => ID, {
    nullable: true,
    description: 'The chat to continue; a new one when left out.',
  })
  @IsOptional()
  chatId?: string | null;

  @Field(() => String, {
    nullable: true,
    description: "Instructions for this reply (and a new chat's); else the chat's.",
  })
  @IsOptional()
  @MaxLength(CHAT_LIMITS.maxSystemInstructionsLength)
  systemInstructions?: string | null;
}

@InputType({
  description:
    'A new version of an earlier prompt: it becomes a sibling of that prompt, and a reply streams under it. The old branch stays.',
})
export class EditMessageInput extends PromptRequestInput {
  @Field(() => ID, { description: 'The prompt (a USER message) to edit.' })
  messageId!: string;

  @Field(() => String, {
    nullable: true,
    description: "Instructions for this reply; else the chat's.",
  })
  @IsOptional()
  @MaxLength(CHAT_LIMITS.maxSystemInstructionsLength)
  systemInstructions?: string | null;
}

@InputType({
  description: 'Another reply to the same prompt: a sibling of that reply, streamed.',
})
export class RegenerateReplyInput extends ReplyRequestInput {
  @Field(() => ID, { description: 'The reply (an ASSISTANT message) to write again.' })
  messageId!: string;
}
