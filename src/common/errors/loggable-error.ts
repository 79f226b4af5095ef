/**
 * What an error says in a log line, without the values PostgreSQL repeats in a data exception's message (SQLSTATE
 * class 22: `invalid input syntax for type bigint: "DE89370400440532013000"`, `value "…" is out of range`): they are
 * what a handler passed to a statement, customers' data, and the logs' redaction works by field, never by text. The
 * other classes name only identifiers (constraints, columns, relations), which a reader needs, and are left whole.
 */
export function loggableErrorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${loggableMessage(error)}` : String(error);
}

/** The error's stack with its message masked the same way (the stack's first line repeats the message). */
export function loggableStack(error: unknown): string | undefined {
  if (!(error instanceof Error) || error.stack === undefined) return undefined;
  const masked = loggableMessage(error);
  return masked === error.message ? error.stack : error.stack.replace(error.message, masked);
}

/** The error's message alone, masked the same way. */
export function loggableMessage(error: Error): string {
  const code = (error as { code?: unknown }).code;
  const dataException = typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code);
  return dataException ? error.message.replace(/"(?:[^"]|"")*"/g, '"…"') : error.message;
}
