import { resolverOf, type AppModule } from '../../kernel/app-module';
import type { Models } from '../models';
import { ProfileResolver } from './profile.resolver';
import { ProfileService } from './profile.service';

/** The signed-in user: `me` and the profile with its metadata. */
export function createUsersModule(models: Models): AppModule {
  return {
    resolvers: [resolverOf(ProfileResolver, new ProfileResolver(new ProfileService(models)))],
  };
}
