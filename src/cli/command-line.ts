import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in the command line: answered with the usage (exit 2), unlike a command that failed (exit 1). */
export class UsageError extends Error {}

/**
 * Reads a command line strictly: a flag the command does not take (`--parm`), a flag without its value and a
 * stray word are a `UsageError` that names them (node's own wording), never dropped unsaid.
 */
export function readCommandLine<T extends ParseArgsConfig & { strict?: never }>(
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    // strict is parseArgs' default.
    return parseArgs(config);
  } catch (error: unknown) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}
