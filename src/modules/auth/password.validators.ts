import {
  registerDecorator,
  type ValidationArguments,
  type ValidationOptions,
} from 'class-validator';
import { isCommonPassword } from './common-passwords';

/** Refuses passwords from the common-password list; compared without letter case. */
export function IsNotCommonPassword(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isNotCommonPassword',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: 'This password is too common; choose another.', ...options },
      validator: {
        validate: (value: unknown) => typeof value === 'string' && !isCommonPassword(value),
      },
    });
}

/** The field must equal another field of the same input (password confirmation). */
export function SameAs(otherField: string, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'sameAs',
      target: target.constructor,
      propertyName: propertyName as string,
      constraints: [otherField],
      options: { message: 'The passwords do not match.', ...options },
      validator: {
        validate: (value: unknown, args: ValidationArguments) =>
          value === (args.object as Record<string, unknown>)[otherField],
      },
    });
}
