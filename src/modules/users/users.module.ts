import { resolverOf, type AppModule } from '../../kernel/app-module';
import type { Models } from '../models';
import {
  AccountDeletionService,
  type AccountCredentials,
  type UserDataEraser,
} from './account-deletion.service';
import { AccountResolver } from './account.resolver';
import { ProfileResolver } from './profile.resolver';
import { ProfileService } from './profile.service';

export interface UsersModuleDependencies {
  models: Models;
  /** The auth module's part of closing an account. */
  credentials: AccountCredentials;
  /** Each feature that keeps data of a user (chat). */
  erasers: readonly UserDataEraser[];
}

/** The signed-in user: `me`, the profile with its metadata, and deleting the account. */
export function createUsersModule(deps: UsersModuleDependencies): AppModule {
  const { models, credentials, erasers } = deps;
  return {
    resolvers: [
      resolverOf(ProfileResolver, new ProfileResolver(new ProfileService(models))),
      resolverOf(
        AccountResolver,
        new AccountResolver(new AccountDeletionService(models, credentials, erasers)),
      ),
    ],
  };
}
