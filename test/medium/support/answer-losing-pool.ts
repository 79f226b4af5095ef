import type { QueryResultRow } from 'pg';
import { DatabasePool } from '../../../src/database/database-pool';
import type { SqlStatement } from '../../../src/database/sql';

/**
 * The service's pool, except that the statement named `losing` runs (and commits) and then loses its connection's
 * answer, as a connection that drops right after COMMIT does.
 */
export class AnswerLosingPool extends DatabasePool {
  losing?: string;

  override async run<Row extends QueryResultRow, Params extends readonly unknown[]>(
    statement: SqlStatement<Row, Params>,
    params: Readonly<Params>,
    signal?: AbortSignal,
    lagTolerant?: { scope: string },
  ): Promise<Row[]> {
    const rows = await super.run(statement, params, signal, lagTolerant);
    if (statement.name === this.losing) throw new Error('Connection terminated unexpectedly');
    return rows;
  }
}
