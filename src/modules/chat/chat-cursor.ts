import { isValidObjectId } from 'mongoose';
import { BadUserInputError } from '../../errors/errors';

/** A position in the chat list: the last chat's `updatedAt` and id, opaque to clients. */
export interface ChatCursor {
  updatedAt: Date;
  id: string;
}

export function encodeChatCursor(cursor: ChatCursor): string {
  return Buffer.from(`${cursor.updatedAt.toISOString()}|${cursor.id}`, 'utf8').toString(
    'base64url',
  );
}

export function decodeChatCursor(value: string): ChatCursor {
  const [iso, id] = Buffer.from(value, 'base64url').toString('utf8').split('|');
  const updatedAt = new Date(iso ?? '');
  if (!id || !isValidObjectId(id) || Number.isNaN(updatedAt.getTime())) {
    throw new BadUserInputError({ after: 'This cursor is not valid; use a pageInfo.endCursor.' });
  }
  return { updatedAt, id };
}
