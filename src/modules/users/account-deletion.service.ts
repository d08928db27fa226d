import type { Models } from '../models';

/** What the auth module does when an account closes. */
export interface AccountCredentials {
  confirmPassword(userId: string, password: string): Promise<void>;
  signOutEverywhere(userId: string): Promise<void>;
}

/** What a feature that keeps data of a user does when the account closes. */
export interface UserDataEraser {
  eraseUser(userId: string): Promise<void>;
}

/**
 * deleteAccount: the password again, then every feature erases what it keeps of the user, then
 * the user, and last every session ends (sockets close on every instance). Sessions end last so
 * that the answer still reaches a client that asked over its socket (it closes a turn later),
 * and so that a failure part way leaves the account signed in to try again. A chat another
 * device creates while this runs is left without an owner: nobody can read it, and its links
 * answer NOT_FOUND (they check the owner).
 */
export class AccountDeletionService {
  constructor(
    private readonly models: Models,
    private readonly credentials: AccountCredentials,
    private readonly erasers: readonly UserDataEraser[],
  ) {}

  async delete(userId: string, password: string): Promise<true> {
    await this.credentials.confirmPassword(userId, password);
    for (const eraser of this.erasers) await eraser.eraseUser(userId);
    await this.models.User.deleteOne({ _id: userId });
    await this.credentials.signOutEverywhere(userId);
    return true;
  }
}
