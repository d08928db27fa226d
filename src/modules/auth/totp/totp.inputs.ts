import { Field, InputType } from 'type-graphql';
import { IsNotEmpty, MaxLength } from 'class-validator';

const MAX_CODE_LENGTH = 64;

@InputType({ description: 'The challenge of a SECOND_FACTOR_REQUIRED error and one code.' })
export class SecondFactorInput {
  @Field(() => String, { description: '`extensions.challenge` of SECOND_FACTOR_REQUIRED.' })
  @IsNotEmpty({ message: 'Send the challenge from the sign-in.' })
  @MaxLength(MAX_CODE_LENGTH * 2)
  challenge!: string;

  @Field(() => String, { nullable: true, description: 'Six digits from the authenticator app.' })
  @MaxLength(MAX_CODE_LENGTH)
  totpCode?: string | null;

  @Field(() => String, { nullable: true, description: 'One of the recovery codes, used up.' })
  @MaxLength(MAX_CODE_LENGTH)
  recoveryCode?: string | null;
}
