import { Logger } from '@nestjs/common';
import type { Logger as TypeOrmLoggerContract } from 'typeorm';
import { loggableMessage } from '../common/errors/loggable-error';

/** A statement on one line, cut to a length that says which it was. */
function statementOf(query: string): string {
  const line = query.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** TypeORM's one informational message that tells of a mistake: an entity or migration glob that matched no file. */
const GLOB_MATCHED_NOTHING = 'No classes were found using the provided glob pattern';

/**
 * TypeORM's messages through the process's logger (JSON lines in the service, text in the commands), never with
 * a statement's parameters: TypeORM's own console logger printed a failed statement with its parameter values
 * (audit rows, customers' data) as plain text on stderr. Statements are not logged one by one (their spans carry
 * them). A failed statement or migration is at debug: whoever ran it gets the error and says what failed in its
 * own words.
 *
 * Its running commentary (which entity files a glob found, the migration executor's "N migrations are already
 * loaded", "Migration X has been reverted successfully") is not logged at all: the service and the commands say
 * what they applied or reverted themselves, and a command's Nest logger, left at its default, printed every line
 * of it to standard output, in colour, ahead of what the command answers (a deploy gate reads `show`'s answer).
 */
export class TypeOrmLogger implements TypeOrmLoggerContract {
  private readonly logger = new Logger('TypeORM');

  logQuery(): void {
    // Every statement: not logged.
  }

  logQueryError(error: string | Error, query: string): void {
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? loggableMessage(error) : error;
    this.logger.debug(
      `Statement failed${typeof code === 'string' ? ` (${code})` : ''}: ${message} - ${statementOf(query)}`,
    );
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn(`Slow statement (${time} ms): ${statementOf(query)}`);
  }

  logSchemaBuild(): void {
    // The migration executor's commentary: not logged (see above).
  }

  /** Only its failures come here ("Migration X failed, error: …"), which whoever ran the migrations reports. */
  logMigration(message: string): void {
    this.logger.debug(message);
  }

  /** Its warnings, and a glob that found no file, at warn; its other informational messages are not logged. */
  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    if (level === 'warn' || text.startsWith(GLOB_MATCHED_NOTHING)) this.logger.warn(text);
  }
}
