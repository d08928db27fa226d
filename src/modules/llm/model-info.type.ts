import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType({ simpleResolvers: true, description: 'What one model can do.' })
export class ModelInfo {
  @Field(() => String, { description: 'The model, as LlmConfigInput.chatModel names it.' })
  id!: string;

  @Field(() => Boolean, { description: 'Whether it reads images.' })
  vision!: boolean;

  @Field(() => Boolean, {
    description: 'Whether it calls tools (a chat then offers it its tools).',
  })
  tools!: boolean;

  @Field(() => Boolean, {
    description: 'Whether it reasons before answering; its reasoning streams as reasoningDelta.',
  })
  reasoning!: boolean;

  @Field(() => Int, {
    nullable: true,
    description: 'The most tokens its context holds, when known.',
  })
  contextTokens!: number | null;
}
