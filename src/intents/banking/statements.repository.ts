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
  readonly transactionCount: number;
  readonly openingMinor: bigint;
  readonly closingMinor: bigint;
  readonly archiveReference: string;
}

type StatementRow = Pick<Statement, 'id' | 'transactionCount' | 'openingMinor' | 'closingMinor' | 'archiveReference'>;

const STATEMENT_COLUMNS = `id, transaction_count AS "transactionCount", opening_minor AS "openingMinor",
  closing_minor AS "closingMinor", archive_reference AS "archiveReference"`;

const FIGURES = sql<{ count: string; total: string | null }, [accountId: string, from: Date]>(
  'statement_figures',
  `SELECT count(*) AS count, sum(amount_minor) AS total FROM transactions WHERE account_id = $1 AND posted_at >= $2`,
);

const BY_KEY = sql<StatementRow, [idempotencyKey: string]>(
  'statement_by_key',
  `SELECT ${STATEMENT_COLUMNS} FROM statements WHERE idempotency_key = $1`,
);

const INSERT = sql<
  StatementRow,
  [
    key: string,
    accountId: string,
    start: Date,
    end: Date,
    count: number,
    opening: string,
    closing: string,
    reference: string,
  ]
>(
  'statement_insert',
  `INSERT INTO statements (idempotency_key, account_id, period_start, period_end, transaction_count, opening_minor,
     closing_minor, archive_reference)
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
   ON CONFLICT (idempotency_key) DO NOTHING
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
  async figures(accountId: string, balanceMinor: bigint, from: Date, signal?: AbortSignal): Promise<StatementFigures> {
    const [row] = await this.pool.run(FIGURES, [accountId, from], signal);
    const total = BigInt(row?.total ?? '0');
    return {
      transactionCount: Number(row?.count ?? 0),
      openingMinor: balanceMinor - total,
      closingMinor: balanceMinor,
    };
  }

  async findByKey(idempotencyKey: string): Promise<StoredStatement | undefined> {
    const [row] = await this.pool.run(BY_KEY, [idempotencyKey]);
    return row ? toStored(row) : undefined;
  }

  /** Inserts once per key; a second insert of the same key returns the first statement. */
  async save(
    idempotencyKey: string,
    accountId: string,
    period: { from: Date; to: Date },
    figures: StatementFigures,
    archiveReference: string,
  ): Promise<StoredStatement> {
    const [row] = await this.pool.run(INSERT, [
      idempotencyKey,
      accountId,
      period.from,
      period.to,
      figures.transactionCount,
      figures.openingMinor.toString(),
      figures.closingMinor.toString(),
      archiveReference,
    ]);
    return row ? toStored(row) : ((await this.findByKey(idempotencyKey)) as StoredStatement);
  }
}
