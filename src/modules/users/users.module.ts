import { instancesOf, type AppModule } from '../../graphql/app-module';
import type { Connection } from 'mongoose';
import { bindModel } from '../../db/models';
import {
  AccountDeletionService,
  type AccountCredentials,
  type UserDataEraser,
} from './account-deletion.service';
import { AccountResolver } from './account.resolver';
import { ProfileResolver } from './profile.resolver';
import { ProfileService } from './profile.service';
import { UserRecord, type UserModel } from './user.model';

/** The users feature's part of the schema; the module gives an instance of each. */
export const USERS_RESOLVERS = [ProfileResolver, AccountResolver] as const;

/** The users feature's collections. */
export interface UsersModels {
  User: UserModel;
}

export function bindUsersModels(connection: Connection): UsersModels {
  return { User: bindModel(connection, 'User', UserRecord) };
}

export interface UsersModuleDependencies {
  models: UsersModels;
  /** The auth module's part of closing an account. */
  credentials: AccountCredentials;
  /** Each feature that keeps data of a user (chat). */
  erasers: readonly UserDataEraser[];
}

/** The signed-in user: `me`, the profile with its metadata, and deleting the account. */
export function createUsersModule(deps: UsersModuleDependencies): AppModule {
  const { models, credentials, erasers } = deps;
  return {
    resolvers: instancesOf(USERS_RESOLVERS, [
      new ProfileResolver(new ProfileService(models)),
      new AccountResolver(new AccountDeletionService(models, credentials, erasers)),
    ]),
  };
}
