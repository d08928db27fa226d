/**
 * What chat asks of the auth module when it has written data of a user: may it stay? No while
 * the account is being deleted (AccountClosure.assertOpen), so a write that raced the deletion
 * takes itself back (util/or-undo.ts) instead of outliving the account it belongs to.
 */
export interface OpenAccounts {
  /** Throws (UNAUTHENTICATED, SESSION_ENDED) when the account is closing or gone. */
  assertOpen(userId: string): Promise<void>;
}
