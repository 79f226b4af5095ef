import { Logger } from '@nestjs/common';
import type { Logger as TypeOrmLoggerContract } from 'typeorm';
import { loggableMessage } from '../common/errors/loggable-error';

/** A statement on one line, cut to a length that says which it was. */
function statementOf(query: string): string {
  const line = query.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/**
 * TypeORM's messages through the process's logger (JSON lines in the service, text in the commands), never with
 * a statement's parameters: TypeORM's own console logger printed a failed statement with its parameter values
 * (audit rows, customers' data) as plain text on stderr. Statements are not logged one by one (their spans carry
 * them). A failed statement is at debug: whoever ran it gets the error and says what failed in its own words.
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

  logSchemaBuild(message: string): void {
    this.logger.debug(message);
  }

  logMigration(message: string): void {
    this.logger.log(message);
  }

  /** Its warnings at warn; its informational chatter (which entity files it found) at debug. */
  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    if (level === 'warn') this.logger.warn(text);
    else this.logger.debug(text);
  }
}
