import { Logger, type LoggerService } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../../src/database/data-source-options';
import { createTestDatabase, queryTestDatabase, type TestDatabase } from '../support/test-database';

/**
 * TypeORM's messages go through the process's logger and never carry a statement's parameters. Its own console
 * logger printed a failed statement with its parameter values as plain text on stderr (in the service: audit rows
 * on a database that went read-only). A real data source on PostgreSQL with the service's options.
 */
describe("TypeORM's messages (real PostgreSQL, the service's data source options)", () => {
  const SECRET = 'customer-4711-secret-value';
  let database: TestDatabase;
  let dataSource: DataSource;
  const lines: { level: string; message: string; context?: string }[] = [];
  const capture: LoggerService = {
    log: (message: string, context?: string) => lines.push({ level: 'log', message, context }),
    warn: (message: string, context?: string) => lines.push({ level: 'warn', message, context }),
    error: (message: string, context?: string) => lines.push({ level: 'error', message, context }),
    debug: (message: string, context?: string) => lines.push({ level: 'debug', message, context }),
  };
  let consoleOutput: jest.SpyInstance[];
  let stderrWrite: jest.SpyInstance;

  beforeAll(async () => {
    database = await createTestDatabase();
    Logger.overrideLogger(capture);
  });
  afterAll(async () => {
    Logger.overrideLogger(new Logger());
    await database.drop();
  });

  /**
   * What was written to stderr, but Jest's own notice about a global of an earlier test file (its `JEST-01`
   * deprecation warning, printed once per worker whenever something left running touches one): not TypeORM's.
   */
  const stderrWritesOtherThanJests = (): unknown[] =>
    stderrWrite.mock.calls.map(([chunk]: unknown[]) => chunk).filter((chunk) => !String(chunk).includes('[JEST-01]'));

  beforeEach(() => {
    lines.length = 0;
    // Observed, not replaced: whatever TypeORM would print still goes through.
    consoleOutput = (['log', 'info', 'warn', 'error'] as const).map((method) => jest.spyOn(console, method));
    stderrWrite = jest.spyOn(process.stderr, 'write');
  });
  afterEach(async () => {
    consoleOutput.forEach((spy) => spy.mockRestore());
    stderrWrite.mockRestore();
    if (dataSource?.isInitialized) await dataSource.destroy();
  });

  const open = async (): Promise<DataSource> => {
    dataSource = new DataSource(buildDataSourceOptions({ url: database.url, poolSize: 2, statementTimeoutMs: 5000 }));
    return dataSource.initialize();
  };

  it('a failed statement: one debug line with its text and the error, never its parameters; nothing on the console', async () => {
    await open();
    await expect(dataSource.query('INSERT INTO no_such_table (name) VALUES ($1)', [SECRET])).rejects.toMatchObject({
      driverError: expect.objectContaining({ code: '42P01' }),
    });
    expect(lines.filter((line) => line.message.startsWith('Statement'))).toEqual([
      {
        level: 'debug',
        context: 'TypeORM',
        message:
          'Statement failed (42P01): relation "no_such_table" does not exist - INSERT INTO no_such_table (name) VALUES ($1)',
      },
    ]);
    expect(JSON.stringify(lines)).not.toContain(SECRET);
    consoleOutput.forEach((spy) => expect(spy).not.toHaveBeenCalled());
    expect(stderrWritesOtherThanJests()).toEqual([]);
  });

  it('a value PostgreSQL repeats in its error (a data exception) is masked in that line', async () => {
    await open();
    await expect(dataSource.query('SELECT $1::bigint', [SECRET])).rejects.toMatchObject({
      driverError: expect.objectContaining({ code: '22P02' }),
    });
    expect(lines.filter((line) => line.message.startsWith('Statement'))).toEqual([
      {
        level: 'debug',
        context: 'TypeORM',
        message: 'Statement failed (22P02): invalid input syntax for type bigint: "…" - SELECT $1::bigint',
      },
    ]);
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it('opens a data source on a server that takes no writes without trying to install an extension', async () => {
    await queryTestDatabase(
      process.env.DATABASE_URL as string,
      `ALTER DATABASE ${database.name} SET default_transaction_read_only = on`,
    );
    try {
      await open();
      expect(lines.filter((line) => line.level !== 'debug')).toEqual([]);
      consoleOutput.forEach((spy) => expect(spy).not.toHaveBeenCalled());
      expect(stderrWritesOtherThanJests()).toEqual([]);
    } finally {
      await queryTestDatabase(
        process.env.DATABASE_URL as string,
        `ALTER DATABASE ${database.name} RESET default_transaction_read_only`,
      );
    }
  });
});
