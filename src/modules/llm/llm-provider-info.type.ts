import { Field, ObjectType } from 'type-graphql';
import { LlmProvider } from './llm-provider.enum';
import { ModelInfo } from './model-info.type';

@ObjectType({
  simpleResolvers: true,
  description: 'A provider this server offers, with its models.',
})
export class LlmProviderInfo {
  @Field(() => LlmProvider, { description: 'The provider.' })
  llm!: LlmProvider;

  @Field(() => [String], { description: 'The chat models a client may choose.' })
  models!: string[];

  @Field(() => String, { description: 'The model used when a client names none.' })
  defaultModel!: string;

  @Field(() => [ModelInfo], {
    description: 'What each of its models can do, in the order of models.',
  })
  modelInfo!: ModelInfo[];
}
