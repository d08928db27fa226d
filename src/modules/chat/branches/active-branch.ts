import type { Types } from 'mongoose';

/**
 * The fields that say which branch a chat shows. `activeLeafId` is the path's last id, kept
 * apart only so that a send can compare and set on one id; every write goes through here so
 * the two never disagree.
 */
export function activeBranch<Id extends Types.ObjectId | string>(path: readonly Id[]) {
  return { activePath: [...path], activeLeafId: path[path.length - 1] ?? null };
}
