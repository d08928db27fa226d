/**
 * What travels on the pub/sub topics: plain JSON-safe data (it may cross Redis), kept apart
 * from the GraphQL output types that resolvers build from it.
 */
export type ChatEventKind = 'CREATED' | 'UPDATED' | 'DELETED' | 'MESSAGE_ADDED' | 'MESSAGE_UPDATED';

export interface ChatEventPayload {
  type: ChatEventKind;
  chatId: string;
  messageId?: string;
}

export interface SessionEndedPayload {
  userId: string;
  /** null: every session of the user ended, except `exceptSessionId` when given. */
  sessionId: string | null;
  exceptSessionId?: string;
}
