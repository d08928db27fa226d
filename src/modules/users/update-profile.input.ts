import { Field, InputType } from 'type-graphql';
import { IsObject, IsOptional, Length } from 'class-validator';
import { GraphQLJSONObject } from 'graphql-scalars';

const MAX_NAME_LENGTH = 100;

@InputType({ description: 'Profile changes; fields left out stay as they are.' })
export class UpdateProfileInput {
  @Field(() => String, { nullable: true, description: 'Given name.' })
  @IsOptional()
  @Length(1, MAX_NAME_LENGTH, { message: `Use 1 to ${MAX_NAME_LENGTH} characters.` })
  firstName?: string | null;

  @Field(() => String, { nullable: true, description: 'Family name.' })
  @IsOptional()
  @Length(1, MAX_NAME_LENGTH, { message: `Use 1 to ${MAX_NAME_LENGTH} characters.` })
  lastName?: string | null;

  @Field(() => GraphQLJSONObject, {
    nullable: true,
    description:
      'Merged into the stored metadata one level deep; a key set to null is removed. Keys may not start with "$", contain ".", or be __proto__, constructor or prototype; at most 10 levels and 16 KiB.',
  })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown> | null;
}
