import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../config';

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
 * Whether the command line asks for the usage: `--help` or `-h` among its words (not as a flag's value, as in
 * `--text -h`). The command answers with its usage on standard output and exit 0, whatever else the line holds.
 */
export function asksForHelp(config: Pick<ParseArgsConfig, 'args' | 'options'>): boolean {
  const words = valuesJoined(config.args ?? [], config.options ?? {});
  const end = words.indexOf('--');
  return words.slice(0, end < 0 ? undefined : end).some((word) => word === '--help' || word === '-h');
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

/**
 * Runs an operator command and exits with its code: a `UsageError` is answered with the usage (exit 2), a
 * configuration mistake with its own message, anything else as `<name> failed: …` (exit 1).
 */
export function exitWith(name: string, usage: string, command: Promise<number>): void {
  command
    .then((code) => process.exit(code))
    .catch((error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`${error.message}\n${usage}\n`);
        process.exit(2);
      }
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`${error instanceof ConfigError ? message : `${name} failed: ${message}`}\n`);
      process.exit(1);
    });
}
