import { AuthResolver } from '../modules/auth/auth.resolver';
import { EmailVerificationResolver } from '../modules/auth/email-verification.resolver';
import { PasswordResolver } from '../modules/auth/password.resolver';
import { SessionsResolver } from '../modules/auth/sessions.resolver';
import { LlmProvidersResolver } from '../modules/llm/llm-providers.resolver';
import { ProfileResolver } from '../modules/users/profile.resolver';
import { ChatResolver } from '../modules/chat/chat.resolver';
import { SendMessageResolver } from '../modules/chat/send-message.resolver';
import { ChatSubscriptionsResolver } from '../modules/chat/chat-subscriptions.resolver';

import type { NonEmptyArray, ResolverClass } from './schema';

/** Every resolver class of the schema; app.ts registers an instance of each. */
export const resolverClasses: NonEmptyArray<ResolverClass> = [
  AuthResolver,
  SessionsResolver,
  EmailVerificationResolver,
  PasswordResolver,
  ProfileResolver,
  LlmProvidersResolver,
  ChatResolver,
  SendMessageResolver,
  ChatSubscriptionsResolver,
];
