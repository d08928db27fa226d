import { Field, ID, InputType } from 'type-graphql';
import {
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
}

@InputType({ description: 'A prompt. Without chatId a new chat is created for it.' })
export class SendMessageInput {
  @Field(() => ID, {
    nullable: true,
    description: 'The chat to continue; a new one when left out.',
  })
  @IsOptional()
  chatId?: string | null;

  @Field(() => String, {
    description: `The prompt, up to ${CHAT_LIMITS.maxPromptLength} characters.`,
  })
  @IsNotEmpty({ message: 'Write a prompt.' })
  @MaxLength(CHAT_LIMITS.maxPromptLength, {
    message: `A prompt may be at most ${CHAT_LIMITS.maxPromptLength} characters.`,
  })
  prompt!: string;

  @Field(() => LlmConfigInput, {
    nullable: true,
    description: "This reply's model; else the chat's, else the server's.",
  })
  @IsOptional()
  @ValidateNested()
  config?: LlmConfigInput | null;

  @Field(() => String, {
    nullable: true,
    description: "Instructions for this reply (and a new chat's); else the chat's.",
  })
  @IsOptional()
  @MaxLength(CHAT_LIMITS.maxSystemInstructionsLength)
  systemInstructions?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Any id the client picks per prompt; a retry with the same id returns the first payload.',
  })
  @IsOptional()
  @Matches(/^[A-Za-z0-9._:-]+$/, { message: 'Use letters, digits and . _ : - only.' })
  @MaxLength(CHAT_LIMITS.maxClientMessageIdLength)
  clientMessageId?: string | null;
}
