import { buildSchema, type ReturnModelType } from '@typegoose/typegoose';
import type { Connection } from 'mongoose';
import { UserRecord } from './users/user.model';
import { SessionRecord } from './auth/session.model';
import { EmailTokenRecord } from './auth/email-token.model';
import { ChatRecord } from './chat/chat.model';
import { MessageRecord } from './chat/message.model';
import { ChatShareRecord } from './chat/sharing/chat-share.model';
import { OutboxMailRecord } from '../mail/outbox-mail.model';

/**
 * The models of one connection. Typegoose's getModelForClass caches models globally by name,
 * so schemas are built once and bound to each connection here: two apps in one process
 * (tests) never share a model.
 */
const schemas = {
  User: buildSchema(UserRecord),
  Session: buildSchema(SessionRecord),
  EmailToken: buildSchema(EmailTokenRecord),
  Chat: buildSchema(ChatRecord),
  Message: buildSchema(MessageRecord),
  ChatShare: buildSchema(ChatShareRecord),
  OutboxMail: buildSchema(OutboxMailRecord),
};

export interface Models {
  User: ReturnModelType<typeof UserRecord>;
  Session: ReturnModelType<typeof SessionRecord>;
  EmailToken: ReturnModelType<typeof EmailTokenRecord>;
  Chat: ReturnModelType<typeof ChatRecord>;
  Message: ReturnModelType<typeof MessageRecord>;
  ChatShare: ReturnModelType<typeof ChatShareRecord>;
  OutboxMail: ReturnModelType<typeof OutboxMailRecord>;
}

export function createModels(connection: Connection): Models {
  const bind = <Name extends keyof Models>(name: Name) =>
    connection.model(name, schemas[name]) as unknown as Models[Name];
  return {
    User: bind('User'),
    Session: bind('Session'),
    EmailToken: bind('EmailToken'),
    Chat: bind('Chat'),
    Message: bind('Message'),
    ChatShare: bind('ChatShare'),
    OutboxMail: bind('OutboxMail'),
  };
}

/** Creates the indexes the models declare; unique ones are what make the flows race-safe. */
export async function syncIndexes(models: Models): Promise<void> {
  for (const model of Object.values(models)) {
    await model.createIndexes();
  }
}
