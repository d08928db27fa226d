import { Field, InputType } from 'type-graphql';
import { IsNotEmpty, Length, MaxLength, isEmail, registerDecorator } from 'class-validator';
import { BadUserInputError } from '../../errors/errors';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './password-hasher';
import { IsNotCommonPassword, SameAs } from './password.validators';

const MAX_EMAIL_LENGTH = 254;
const MAX_NAME_LENGTH = 100;
const passwordLengthMessage = `Use ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters.`;

/**
 * A new password field (register, change, reset): checked for length and against the
 * common-password list, never altered.
 */
const NewPasswordField = (): PropertyDecorator => (target, key) => {
  Field(() => String, {
    description: `${MIN_PASSWORD_LENGTH}–${MAX_PASSWORD_LENGTH} characters, not a common one.`,
  })(target, key);
  Length(MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH, { message: passwordLengthMessage })(target, key);
  IsNotCommonPassword()(target, key);
};

/** The same new password typed again, which must equal the field `original`. */
const ConfirmationField =
  (original: string, description: string): PropertyDecorator =>
  (target, key) => {
    Field(() => String, { description })(target, key);
    SameAs(original)(target, key);
  };

/** Validates the address as it will be stored: surrounding spaces are not the user's fault. */
const IsEmailAddress = (): PropertyDecorator => (target, key) =>
  registerDecorator({
    name: 'isEmailAddress',
    target: target.constructor,
    propertyName: key as string,
    options: { message: 'Enter a valid email address.' },
    validator: { validate: (value: unknown) => typeof value === 'string' && isEmail(value.trim()) },
  });

@InputType({ description: 'A new account.' })
export class RegisterInput {
  @Field(() => String, { description: 'Sign-in address; trimmed and lower-cased.' })
  @MaxLength(MAX_EMAIL_LENGTH)
  @IsEmailAddress()
  email!: string;

  @NewPasswordField()
  password!: string;

  @ConfirmationField('password', 'The same password again.')
  confirmPassword!: string;

  @Field(() => String, { description: 'Given name.' })
  @Length(1, MAX_NAME_LENGTH, { message: `Use 1 to ${MAX_NAME_LENGTH} characters.` })
  firstName!: string;

  @Field(() => String, { description: 'Family name.' })
  @Length(1, MAX_NAME_LENGTH, { message: `Use 1 to ${MAX_NAME_LENGTH} characters.` })
  lastName!: string;
}

@InputType({ description: 'Credentials for signing in.' })
export class LoginInput {
  @Field(() => String, { description: 'Sign-in address, in any letter case.' })
  @MaxLength(MAX_EMAIL_LENGTH)
  @IsNotEmpty({ message: 'Enter your email address.' })
  email!: string;

  @Field(() => String, { description: 'The password.' })
  @MaxLength(MAX_PASSWORD_LENGTH, { message: passwordLengthMessage })
  @IsNotEmpty({ message: 'Enter your password.' })
  password!: string;
}

@InputType({ description: 'A password change by a signed-in user.' })
export class ChangePasswordInput {
  @Field(() => String, { description: 'The password in use now.' })
  @MaxLength(MAX_PASSWORD_LENGTH, { message: passwordLengthMessage })
  @IsNotEmpty({ message: 'Enter your current password.' })
  currentPassword!: string;

  @NewPasswordField()
  newPassword!: string;

  @ConfirmationField('newPassword', 'The new password again.')
  confirmNewPassword!: string;
}

@InputType({ description: 'A new password, with the token from a reset mail.' })
export class ResetPasswordInput {
  @Field(() => String, { description: 'The token from the reset link.' })
  @MaxLength(256)
  @IsNotEmpty()
  token!: string;

  @NewPasswordField()
  newPassword!: string;

  @ConfirmationField('newPassword', 'The new password again.')
  confirmNewPassword!: string;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * For mutations that take a bare address (resend, forgot): refuses what cannot be an address.
 * Says nothing about whether an account exists.
 */
export function parseEmailArgument(email: string): string {
  const address = normalizeEmail(email);
  if (address.length > MAX_EMAIL_LENGTH || !isEmail(address)) {
    throw new BadUserInputError({ email: 'Enter a valid email address.' });
  }
  return address;
}
