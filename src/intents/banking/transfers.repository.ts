import { Injectable } from '@nestjs/common';
import { DatabasePool } from '../../database/database-pool';
import { OneAtATime } from '../../common/one-at-a-time';
import { sql } from '../../database/sql';
import { CommittedWrites, customerScope } from '../committed-writes';
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

// Both rows locked in a fixed order (by id), so transfers in opposite directions cannot deadlock.
const LOCK = sql<TransferAccount, [customerNumber: string, accountTypes: string[]]>(
  'transfer_lock',
  `SELECT a.id, a.account_type AS "accountType", a.currency, a.balance_minor AS "balanceMinor"
     FROM accounts a JOIN customers c ON c.id = a.customer_id
    WHERE c.customer_number = $1 AND a.account_type = ANY($2::text[])
    ORDER BY a.id FOR UPDATE OF a`,
);

const DONE = sql<{ done: 1 }, [idempotencyKey: string]>(
  'transfer_done',
  `SELECT 1 AS done FROM transfers WHERE idempotency_key = $1`,
);

// The transfer record, both balances and both history rows in one statement (one round trip under the lock).
const APPLY = sql<
  { fromBalance: string; toBalance: string; transferId: string },
  [key: string, fromId: string, toId: string, amountMinor: string, at: Date, debitText: string, creditText: string]
>(
  'transfer_apply',
  `WITH transfer AS (
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
   SELECT (SELECT balance_minor FROM debit) AS "fromBalance", (SELECT balance_minor FROM credit) AS "toBalance",
          (SELECT id FROM transfer) AS "transferId"`,
);

/**
 * Moves money between two accounts of one customer in one transaction: both rows locked, the turn's key
 * checked, the balance checked, then every write in one statement. A second run of the same turn (a retry,
 * a job re-run after a crash) finds its key and moves nothing.
 */
@Injectable()
export class TransfersRepository {
  /**
   * Transfers of one customer lock the same rows, so they would only queue in PostgreSQL, each holding a pooled
   * connection; they queue here instead, and one busy customer holds at most one connection of this replica.
   */
  private readonly perCustomer = new OneAtATime();

  constructor(
    private readonly pool: DatabasePool,
    private readonly writes: CommittedWrites,
  ) {}

  /** `signal` gives up while still waiting behind the customer's other transfers (never once started). */
  transfer(
    customerNumber: string,
    fromType: string,
    toType: string,
    amountMinor: bigint,
    description: string,
    idempotencyKey: string,
    signal?: AbortSignal,
  ): Promise<TransferOutcome> {
    const transferNow = (): Promise<TransferOutcome> =>
      this.pool.transaction(async (tx) => {
        const locked = await tx.run(LOCK, [customerNumber, [fromType, toType]]);
        const from = locked.find((row) => row.accountType === fromType);
        const to = locked.find((row) => row.accountType === toType);
        if (!from) return { kind: 'unknown-account', accountType: fromType };
        if (!to) return { kind: 'unknown-account', accountType: toType };
        if ((await tx.run(DONE, [idempotencyKey])).length > 0) return { kind: 'already-done', from, to };
        if (from.currency !== to.currency) return { kind: 'currency-mismatch' };
        if (BigInt(from.balanceMinor) < amountMinor) return { kind: 'insufficient-funds', from };

        const [applied] = await tx.run(APPLY, [
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
          from: { ...from, balanceMinor: applied.fromBalance },
          to: { ...to, balanceMinor: applied.toBalance },
        };
      });
    return this.perCustomer.run(customerNumber, () => this.invalidatingAfter(customerNumber, transferNow), signal);
  }

  /**
   * The customer's cached balances go once the transfer is committed; also when the transaction failed in a way
   * that leaves its outcome unknown (a connection lost during COMMIT), since the money may have moved.
   */
  private async invalidatingAfter(
    customerNumber: string,
    transferNow: () => Promise<TransferOutcome>,
  ): Promise<TransferOutcome> {
    let outcome: TransferOutcome;
    try {
      outcome = await transferNow();
    } catch (error: unknown) {
      await this.writes.committed(customerScope(customerNumber));
      throw error;
    }
    if (outcome.kind === 'done') await this.writes.committed(customerScope(customerNumber));
    return outcome;
  }
}
