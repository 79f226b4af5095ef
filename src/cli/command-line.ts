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
    const joined: T = { ...config, args: valuesJoined(config.args ?? [], config.options ?? {}) };
    return parseArgs(joined);
  } catch (error: unknown) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * `--text -5 degrees` as `--text=-5 degrees`: a flag that takes a value takes the next word, unless that is a flag
 * itself (parseArgs refuses a value that starts with a dash as "ambiguous", which the hand-written parsers took).
 */
function valuesJoined(args: readonly string[], options: NonNullable<ParseArgsConfig['options']>): string[] {
  const joined: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const word = args[index];
    const next = args[index + 1];
    const takesValue = word.startsWith('--') && !word.includes('=') && options[word.slice(2)]?.type === 'string';
    if (takesValue && next !== undefined && next.startsWith('-') && !next.startsWith('--')) {
      joined.push(`${word}=${next}`);
      index++;
    } else {
      joined.push(word);
    }
  }
  return joined;
}
