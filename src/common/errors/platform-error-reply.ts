/**
 * A refusal a platform expects in its own format (the Rasa SDK's `{error, action_name}` 400 and 404), not in
 * ours: the body is sent exactly as given.
 */
export class PlatformErrorReply extends Error {
  constructor(
    readonly status: number,
    readonly json: string,
  ) {
    super(`platform error reply ${status}`);
    this.name = 'PlatformErrorReply';
  }
}
