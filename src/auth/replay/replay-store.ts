/** Remembers signed message ids so a captured request cannot be sent again within the signature window. */
export abstract class ReplayStore {
  /** Records the id; resolves false when the caller already used it within the window (a replay). */
  abstract remember(callerId: string, messageId: string, windowSeconds: number): Promise<boolean>;
}
