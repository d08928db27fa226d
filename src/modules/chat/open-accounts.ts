/**
 * What chat asks of the auth module when it has written data of a user: may it stay? No while
 * the account is being deleted (AccountClosure.assertOpen), so a write that raced the deletion
 * takes itself back instead of outliving the account it belongs to.
 */
export interface OpenAccounts {
  /** Throws (UNAUTHENTICATED, SESSION_ENDED) when the account is closing or gone. */
  assertOpen(userId: string): Promise<void>;
}

/** Asked after a write lands: keeps it when the account is open, else undoes it and throws. */
export async function keepUnlessClosing(
  accounts: OpenAccounts,
  userId: string,
  undo: () => Promise<unknown>,
): Promise<void> {
  try {
    await accounts.assertOpen(userId);
  } catch (error) {
    await undo();
    throw error;
  }
}
