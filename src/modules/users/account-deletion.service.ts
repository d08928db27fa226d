import type { UserModel } from './user.model';
import type { Viewer } from '../../graphql/context';
import { orUndo } from '../../util/or-undo';

/** What the auth module does when an account closes. */
export interface AccountCredentials {
  confirmPassword(userId: string, password: string): Promise<void>;
  beginClosing(userId: string, callerSessionId: string): Promise<void>;
  abortClosing(userId: string): Promise<void>;
  signOutEverywhere(userId: string): Promise<void>;
}

/** What a feature that keeps data of a user does when the account closes. */
export interface UserDataEraser {
  eraseUser(userId: string): Promise<void>;
}

/**
 * deleteAccount: the password again; then the account is marked closing and every other
 * device signed out (no new sign-in or write sticks from here: AccountClosure); then every
 * feature erases what it keeps of the user, then the user; last the caller's own session ends
 * (its sockets close on every instance), so that the answer still reaches a client that asked
 * over its socket. A failure part way leaves the account open and signed in to try again.
 */
export class AccountDeletionService {
  constructor(
    private readonly models: { User: UserModel },
    private readonly credentials: AccountCredentials,
    private readonly erasers: readonly UserDataEraser[],
  ) {}

  async delete(viewer: Viewer, password: string): Promise<true> {
    const { userId } = viewer;
    await this.credentials.confirmPassword(userId, password);
    await this.credentials.beginClosing(userId, viewer.sessionId);
    await orUndo(
      async () => {
        for (const eraser of this.erasers) await eraser.eraseUser(userId);
        await this.models.User.deleteOne({ _id: userId });
      },
      () => this.credentials.abortClosing(userId),
    );
    await this.credentials.signOutEverywhere(userId);
    return true;
  }
}
