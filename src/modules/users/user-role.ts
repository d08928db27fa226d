import { registerEnumType } from 'type-graphql';

/** What an account may do beyond its own data (CONTRACT.md, accounts for teams and operators). */
export enum UserRole {
  USER = 'USER',
  ADMIN = 'ADMIN',
}

registerEnumType(UserRole, { name: 'UserRole', description: 'What the account may administer.' });
