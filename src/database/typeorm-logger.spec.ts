import { Logger } from '@nestjs/common';
import { TypeOrmLogger } from './typeorm-logger';

describe('TypeOrmLogger', () => {
  const logged: [string, string][] = [];
  const capture =
    (level: string) =>
    (message: unknown): void => {
      logged.push([level, String(message)]);
    };

  beforeEach(() => {
    logged.length = 0;
    jest.spyOn(Logger.prototype, 'log').mockImplementation(capture('log'));
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(capture('warn'));
    jest.spyOn(Logger.prototype, 'error').mockImplementation(capture('error'));
    jest.spyOn(Logger.prototype, 'debug').mockImplementation(capture('debug'));
    jest.spyOn(Logger.prototype, 'verbose').mockImplementation(capture('verbose'));
  });
  afterEach(() => jest.restoreAllMocks());

  it("logs none of TypeORM's running commentary: the entity files a glob found, the migration executor's notes", () => {
    const logger = new TypeOrmLogger();
    logger.log('info', 'All classes found using provided glob pattern "/app/dist/**/*.entity.{ts,js}" : "/app/…"');
    logger.log('log', 'anything else it says in passing');
    logger.logSchemaBuild();
    expect(logged).toEqual([]);
  });

  it('warns of its warnings and of a glob that matched no file', () => {
    const logger = new TypeOrmLogger();
    logger.log('warn', 'Postgres pool raised an error. Error: gone');
    logger.log('info', 'No classes were found using the provided glob pattern:  "/app/dist/**/*.entity.js"');
    expect(logged).toEqual([
      ['warn', 'Postgres pool raised an error. Error: gone'],
      ['warn', 'No classes were found using the provided glob pattern:  "/app/dist/**/*.entity.js"'],
    ]);
  });

  it("keeps a failed statement or migration at debug, without a data exception's values", () => {
    const logger = new TypeOrmLogger();
    const error = Object.assign(new Error('invalid input syntax for type bigint: "DE89370400440532013000"'), {
      code: '22P02',
    });
    logger.logQueryError(error, 'SELECT *\n  FROM accounts WHERE id = $1');
    logger.logMigration('Migration "AddOrders1796700000000" failed, error: relation "orders" already exists');
    expect(logged).toEqual([
      [
        'debug',
        'Statement failed (22P02): invalid input syntax for type bigint: "…" - SELECT * FROM accounts WHERE id = $1',
      ],
      ['debug', 'Migration "AddOrders1796700000000" failed, error: relation "orders" already exists'],
    ]);
  });
});
