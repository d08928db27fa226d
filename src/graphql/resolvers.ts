import { AuthResolver } from '../modules/auth/auth.resolver';
import { EmailVerificationResolver } from '../modules/auth/email-verification.resolver';
import { PasswordResolver } from '../modules/auth/password.resolver';
import { SessionsResolver } from '../modules/auth/sessions.resolver';
import { LlmProvidersResolver } from '../modules/llm/llm-providers.resolver';
import { ProfileResolver } from '../modules/users/profile.resolver';
import { AccountResolver } from '../modules/users/account.resolver';
import { ChatResolver } from '../modules/chat/chat.resolver';
import { SendMessageResolver } from '../modules/chat/send-message.resolver';
import { ChatSubscriptionsResolver } from '../modules/chat/chat-subscriptions.resolver';
import { BranchesResolver } from '../modules/chat/branches/branches.resolver';
import { ChatShareResolver } from '../modules/chat/sharing/chat-share.resolver';

import type { AppModule, ResolverClass } from '../kernel/app-module';
import type { NonEmptyArray } from './schema';

/** Every resolver class of the schema, the one list; the modules give an instance of each. */
export const resolverClasses: NonEmptyArray<ResolverClass> = [
  AuthResolver,
  SessionsResolver,
  EmailVerificationResolver,
  PasswordResolver,
  ProfileResolver,
  AccountResolver,
  LlmProvidersResolver,
  ChatResolver,
  SendMessageResolver,
  BranchesResolver,
  ChatShareResolver,
  ChatSubscriptionsResolver,
];

/**
 * Fails at startup, not at the first request, when a module gives no instance for a resolver
 * of the list or one that the list lacks (its fields would silently be missing).
 */
export function checkResolvers(modules: readonly AppModule[]): void {
  const given = new Set(modules.flatMap((module) => module.resolvers.map(([type]) => type)));
  const listed = new Set<ResolverClass>(resolverClasses);
  const missing = [...listed].filter((type) => !given.has(type)).map((type) => type.name);
  const unlisted = [...given].filter((type) => !listed.has(type)).map((type) => type.name);
  if (missing.length || unlisted.length) {
    throw new Error(
      `resolvers out of step: no instance for [${missing.join(', ')}]; not in graphql/resolvers.ts: [${unlisted.join(', ')}]`,
    );
  }
}
