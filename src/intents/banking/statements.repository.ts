import { Injectable } from '@nestjs/common';
import { DatabasePool } from '../../database/database-pool';
import { sql } from '../../database/sql';
import type { Statement } from './entities/statement.entity';

export interface StatementFigures {
  readonly transactionCount: number;
  readonly openingMinor: bigint;
  readonly closingMinor: bigint;
}

export interface StoredStatement {
  readonly id: string;
  readonly accountId: string;
  readonly periodStart: Date;
  readonly periodEnd: Date;
  readonly transactionCount: number;
  readonly openingMinor: bigint;
  readonly closingMinor: bigint;
  /** Null while the statement is recorded but not yet filed with the archive. */
  readonly archiveReference: string | null;
}

type StatementRow = Pick<
  Statement,
  | 'id'
  | 'accountId'
  | 'periodStart'
  | 'periodEnd'
  | 'transactionCount'
  | 'openingMinor'
  | 'closingMinor'
  | 'archiveReference'
>;

const STATEMENT_COLUMNS = `id, account_id AS "accountId", period_start AS "periodStart", period_end AS "periodEnd",
  transaction_count AS "transactionCount", opening_minor AS "openingMinor", closing_minor AS "closingMinor",
  archive_reference AS "archiveReference"`;

// The balance and the transactions in one statement (one snapshot), on the primary: a balance read elsewhere (the
// cache, a replica) would not match the sum of transactions posted since.
const FIGURES = sql<{ balance: string; count: string; total: string }, [accountId: string, from: Date]>(
  'statement_figures',
  `SELECT a.balance_minor AS balance, count(t.id) AS count, coalesce(sum(t.amount_minor), 0) AS total
     FROM accounts a LEFT JOIN transactions t ON t.account_id = a.id AND t.posted_at >= $2
    WHERE a.id = $1
    GROUP BY a.id, a.balance_minor`,
);

const BY_KEY = sql<StatementRow, [idempotencyKey: string]>(
  'statement_by_key',
  `SELECT ${STATEMENT_COLUMNS} FROM statements WHERE idempotency_key = $1`,
);

const BY_ID = sql<StatementRow, [id: string]>(
  'statement_by_id',
  `SELECT ${STATEMENT_COLUMNS} FROM statements WHERE id = $1`,
);

const RECORD = sql<
  StatementRow,
  [key: string, accountId: string, start: Date, end: Date, count: number, opening: string, closing: string]
>(
  'statement_record',
  `INSERT INTO statements (idempotency_key, account_id, period_start, period_end, transaction_count, opening_minor,
     closing_minor)
   VALUES ($1, $2, $3, $4, $5, $6, $7)
   ON CONFLICT (idempotency_key) DO NOTHING
   RETURNING ${STATEMENT_COLUMNS}`,
);

const FILED = sql<StatementRow, [id: string, reference: string]>(
  'statement_filed',
  `UPDATE statements SET archive_reference = $2 WHERE id = $1 AND archive_reference IS NULL
   RETURNING ${STATEMENT_COLUMNS}`,
);

const toStored = (row: StatementRow): StoredStatement => ({
  ...row,
  openingMinor: BigInt(row.openingMinor),
  closingMinor: BigInt(row.closingMinor),
});

/** Statements: the figures of an account over a period, and the record of each produced statement. */
@Injectable()
export class StatementsRepository {
  constructor(private readonly pool: DatabasePool) {}

  /** Count of transactions since `from`, and the balance before and now (closing = current balance). */
  async figures(accountId: string, from: Date, signal?: AbortSignal): Promise<StatementFigures> {
    const [row] = await this.pool.run(FIGURES, [accountId, from], signal);
    if (!row) throw new Error(`account ${accountId} is gone`);
    const balance = BigInt(row.balance);
    return {
      transactionCount: Number(row.count),
      openingMinor: balance - BigInt(row.total),
      closingMinor: balance,
    };
  }

  /** The statement recorded under a key, for whichever request recorded it: the caller checks it is its own. */
  async findByKey(idempotencyKey: string, signal?: AbortSignal): Promise<StoredStatement | undefined> {
    const [row] = await this.pool.run(BY_KEY, [idempotencyKey], signal);
    return row ? toStored(row) : undefined;
  }

  /**
   * Records a statement's period and figures, once per key, before it is filed; a second record of the same key
   * returns the first, so a re-run files what the first run meant to (or, the key reused by another request, that
   * request's statement: the caller checks).
   */
  async record(
    idempotencyKey: string,
    accountId: string,
    period: { from: Date; to: Date },
    figures: StatementFigures,
    signal?: AbortSignal,
  ): Promise<StoredStatement> {
    const [row] = await this.pool.run(
      RECORD,
      [
        idempotencyKey,
        accountId,
        period.from,
        period.to,
        figures.transactionCount,
        figures.openingMinor.toString(),
        figures.closingMinor.toString(),
      ],
      signal,
    );
    return row ? toStored(row) : ((await this.findByKey(idempotencyKey, signal)) as StoredStatement);
  }

  /** The archive's reference for a recorded statement; a reference recorded before (a concurrent run) stays. */
  async filed(statement: StoredStatement, archiveReference: string, signal?: AbortSignal): Promise<StoredStatement> {
    const [row] = await this.pool.run(FILED, [statement.id, archiveReference], signal);
    if (row) return toStored(row);
    const [current] = await this.pool.run(BY_ID, [statement.id], signal);
    return toStored(current);
  }
}
