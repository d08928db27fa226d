import { Field, ObjectType } from 'type-graphql';

@ObjectType({
  simpleResolvers: true,
  description: 'A TOTP secret to put in an authenticator app; confirmTotpEnrollment turns it on.',
})
export class TotpEnrollment {
  @Field(() => String, { description: 'Base32, for typing into the app by hand.' })
  secret!: string;

  @Field(() => String, { description: 'otpauth:// URL, for a QR code.' })
  otpauthUrl!: string;
}
