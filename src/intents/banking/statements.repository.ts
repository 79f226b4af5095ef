import { Injectable } from '@nestjs/common';
import { DatabasePool } from '../../database/database-pool';

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

interface StatementRow {
  id: string;
  transaction_count: number;
  opening_minor: string;
  closing_minor: string;
  archive_reference: string;
}

const toStored = (row: StatementRow): StoredStatement => ({
  id: row.id,
  transactionCount: row.transaction_count,
  openingMinor: BigInt(row.opening_minor),
  closingMinor: BigInt(row.closing_minor),
  archiveReference: row.archive_reference,
});

/** Statements: the figures of an account over a period, and the record of each produced statement. */
@Injectable()
export class StatementsRepository {
  constructor(private readonly pool: DatabasePool) {}

  /** Count of transactions since `from`, and the balance before and now (closing = current balance). */
  async figures(accountId: string, balanceMinor: bigint, from: Date, signal?: AbortSignal): Promise<StatementFigures> {
    const [row] = await this.pool.query<{ count: string; total: string | null }>(
      'statement_figures',
      `SELECT count(*) AS count, sum(amount_minor) AS total FROM transactions WHERE account_id = $1 AND posted_at >= $2`,
      [accountId, from],
      signal,
    );
    const total = BigInt(row?.total ?? '0');
    return {
      transactionCount: Number(row?.count ?? 0),
      openingMinor: balanceMinor - total,
      closingMinor: balanceMinor,
    };
  }

  async findByKey(idempotencyKey: string): Promise<StoredStatement | undefined> {
    const [row] = await this.pool.query<StatementRow>(
      'statement_by_key',
      `SELECT id, transaction_count, opening_minor, closing_minor, archive_reference FROM statements WHERE idempotency_key = $1`,
      [idempotencyKey],
    );
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
    const [row] = await this.pool.query<StatementRow>(
      'statement_insert',
      `INSERT INTO statements (idempotency_key, account_id, period_start, period_end, transaction_count, opening_minor,
         closing_minor, archive_reference)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (idempotency_key) DO NOTHING
       RETURNING id, transaction_count, opening_minor, closing_minor, archive_reference`,
      [
        idempotencyKey,
        accountId,
        period.from,
        period.to,
        figures.transactionCount,
        figures.openingMinor.toString(),
        figures.closingMinor.toString(),
        archiveReference,
      ],
    );
    return row ? toStored(row) : ((await this.findByKey(idempotencyKey)) as StoredStatement);
  }
}
