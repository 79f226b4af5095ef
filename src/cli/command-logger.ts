import { ConsoleLogger, Logger, type LogLevel } from '@nestjs/common';
import type { AppConfig } from '../config';

/** Nest's levels from the most severe; LOG_LEVEL's `info` is Nest's `log`. */
const SEVERITY: readonly LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** The levels a command writes at LOG_LEVEL: that one and every more severe one. */
export function commandLogLevels(level: AppConfig['logLevel']): LogLevel[] {
  return SEVERITY.slice(0, SEVERITY.indexOf(level === 'info' ? 'log' : level) + 1);
}

/**
 * Nest's text logger with every level on standard error. Nest's own writes all but errors to standard output,
 * where a command's answer goes (a deploy gate reads `show`'s, the migration Job's log shows `migrate`'s).
 */
class CommandLogger extends ConsoleLogger {
  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    _stream?: 'stdout' | 'stderr',
    errorStack?: unknown,
  ): void {
    super.printMessages(messages, context, logLevel, 'stderr', errorStack);
  }
}

/**
 * What a command logs (`Logger` from @nestjs/common in the modules it runs) goes to standard error, at LOG_LEVEL,
 * in colour only on a terminal and without NO_COLOR (Nest's default coloured a pipe and a Job's log too).
 */
export function useCommandLogger(
  level: AppConfig['logLevel'],
  stderr: { readonly isTTY?: boolean } = process.stderr,
  noColor: string | undefined = process.env.NO_COLOR,
): void {
  Logger.overrideLogger(
    new CommandLogger({ logLevels: commandLogLevels(level), colors: stderr.isTTY === true && !noColor }),
  );
}
