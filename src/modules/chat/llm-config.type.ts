import { Field, InputType, ObjectType } from 'type-graphql';
import { IsEnum, IsNotEmpty, MaxLength } from 'class-validator';
import { LlmProvider } from '../llm/llm-provider.enum';

@ObjectType({ simpleResolvers: true, description: 'Which model answers.' })
export class LlmConfig {
  @Field(() => LlmProvider, { description: 'The provider.' })
  llm!: LlmProvider;

  @Field(() => String, { description: "One of the provider's models (see llmProviders)." })
  chatModel!: string;
}

@InputType({ description: 'Which model answers; see llmProviders for the choices.' })
export class LlmConfigInput {
  @Field(() => LlmProvider, { description: 'The provider.' })
  @IsEnum(LlmProvider)
  llm!: LlmProvider;

  @Field(() => String, { description: "One of the provider's models." })
  @IsNotEmpty()
  @MaxLength(200)
  chatModel!: string;
}
