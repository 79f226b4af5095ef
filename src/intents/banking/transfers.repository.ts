import { Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { DatabasePool } from '../../database/database-pool';
import type { Account } from './entities/account.entity';

/** The fields of an account a transfer reads and reports. */
export type TransferAccount = Pick<Account, 'id' | 'accountType' | 'currency' | 'balanceMinor'>;

export type TransferOutcome =
  | { readonly kind: 'done'; readonly from: TransferAccount; readonly to: TransferAccount }
  /** This turn's transfer was already made (a retry or a re-run): nothing moved this time. */
  | { readonly kind: 'already-done'; readonly from: TransferAccount; readonly to: TransferAccount }
  | { readonly kind: 'insufficient-funds'; readonly from: TransferAccount }
  | { readonly kind: 'unknown-account'; readonly accountType: string }
  | { readonly kind: 'currency-mismatch' };

interface AccountRow {
  id: string;
  account_type: string;
  currency: string;
  balance_minor: string;
}

// Both rows locked in a fixed order (by id), so transfers in opposite directions cannot deadlock.
const LOCK_SQL = `
  SELECT a.id, a.account_type, a.currency, a.balance_minor
    FROM accounts a JOIN customers c ON c.id = a.customer_id
   WHERE c.customer_number = $1 AND a.account_type = ANY($2::text[])
   ORDER BY a.id FOR UPDATE OF a`;

const DONE_SQL = `SELECT 1 FROM transfers WHERE idempotency_key = $1`;

// The transfer record, both balances and both history rows in one statement (one round trip under the lock).
const APPLY_SQL = `
  WITH transfer AS (
         INSERT INTO transfers (idempotency_key, from_account_id, to_account_id, amount_minor)
         VALUES ($1, $2, $3, $4::bigint) RETURNING id),
       debit AS (
         UPDATE accounts SET balance_minor = balance_minor - $4::bigint, balance_updated_at = $5
          WHERE id = $2 RETURNING balance_minor),
       credit AS (
         UPDATE accounts SET balance_minor = balance_minor + $4::bigint, balance_updated_at = $5
          WHERE id = $3 RETURNING balance_minor),
       history AS (
         INSERT INTO transactions (account_id, posted_at, description, amount_minor)
         VALUES ($2, $5, $6, -($4::bigint)), ($3, $5, $7, $4::bigint))
  SELECT (SELECT balance_minor FROM debit) AS from_balance, (SELECT balance_minor FROM credit) AS to_balance,
         (SELECT id FROM transfer) AS transfer_id`;

const toAccount = (row: AccountRow): TransferAccount => ({
  id: row.id,
  accountType: row.account_type,
  currency: row.currency,
  balanceMinor: row.balance_minor,
});

/**
 * Moves money between two accounts of one customer in one transaction: both rows locked, the turn's key
 * checked, the balance checked, then every write in one statement. A second run of the same turn (a retry,
 * a job re-run after a crash) finds its key and moves nothing.
 */
@Injectable()
export class TransfersRepository {
  constructor(private readonly pool: DatabasePool) {}

  transfer(
    customerNumber: string,
    fromType: string,
    toType: string,
    amountMinor: bigint,
    description: string,
    idempotencyKey: string,
  ): Promise<TransferOutcome> {
    return this.pool.transaction(async (client) => {
      const locked = await query<AccountRow>(client, 'transfer_lock', LOCK_SQL, [customerNumber, [fromType, toType]]);
      const fromRow = locked.find((row) => row.account_type === fromType);
      const toRow = locked.find((row) => row.account_type === toType);
      if (!fromRow) return { kind: 'unknown-account', accountType: fromType };
      if (!toRow) return { kind: 'unknown-account', accountType: toType };
      const from = toAccount(fromRow);
      const to = toAccount(toRow);
      if ((await query(client, 'transfer_done', DONE_SQL, [idempotencyKey])).length > 0) {
        return { kind: 'already-done', from, to };
      }
      if (from.currency !== to.currency) return { kind: 'currency-mismatch' };
      if (BigInt(from.balanceMinor) < amountMinor) return { kind: 'insufficient-funds', from };

      const [applied] = await query<{ from_balance: string; to_balance: string }>(client, 'transfer_apply', APPLY_SQL, [
        idempotencyKey,
        from.id,
        to.id,
        amountMinor.toString(),
        new Date(),
        `${description} to ${to.accountType}`,
        `${description} from ${from.accountType}`,
      ]);
      return {
        kind: 'done',
        from: { ...from, balanceMinor: applied.from_balance },
        to: { ...to, balanceMinor: applied.to_balance },
      };
    });
  }
}

async function query<Row extends object>(
  client: PoolClient,
  name: string,
  text: string,
  values: unknown[],
): Promise<Row[]> {
  return (await client.query<Row & Record<string, unknown>>({ name, text, values })).rows;
}
