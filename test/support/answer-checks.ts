/** What a user must never see in an answer: a stack frame, a path on our disk, a JavaScript error's name. */
export const LEAKS = /\bat \S+ \(|node_modules|\/src\/|\/dist\/|TypeError|ReferenceError|RangeError|Cannot read prop/;

/** Whether `body` is the service's JSON error body for `status`: `{statusCode, error, message, …}`. */
export function isServiceErrorBody(status: number, body: unknown): boolean {
  const error = body as { statusCode?: unknown; error?: unknown; message?: unknown } | null;
  return error?.statusCode === status && typeof error.error === 'string' && typeof error.message === 'string';
}
