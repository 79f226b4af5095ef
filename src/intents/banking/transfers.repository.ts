import { Injectable } from '@nestjs/common';
import { DatabasePool } from '../../database/database-pool';
import { mayHaveCommitted } from '../../database/connection-errors';
import { OneAtATime } from '../../common/one-at-a-time';
import { withProperties } from '../../common/objects';
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
  /**
   * The turn's key was used by a transfer of other accounts or another amount: a request id reused for another
   * request after its idempotency record expired. Nothing moved.
   */
  | { readonly kind: 'key-reused' }
  | { readonly kind: 'unknown-account'; readonly accountType: string }
  | { readonly kind: 'currency-mismatch' };

type TransferRow = {
  fromId: string | null;
  fromCurrency: string | null;
  fromBalance: string | null;
  toId: string | null;
  toCurrency: string | null;
  toBalance: string | null;
  /** The turn's key was already used by a transfer committed before this statement began. */
  alreadyDone: boolean;
  /** Set when this statement moved the money. */
  transferId: string | null;
  debitedBalance: string | null;
  creditedBalance: string | null;
};

/**
 * The whole transfer in one statement, so in one implicit transaction and one round trip: both rows locked in a
 * fixed order (by id, so transfers in opposite directions cannot deadlock), which returns their latest balances
 * once the lock is granted; the turn's key checked; the money moved only when the key is new, the currencies
 * match and the balance covers the amount. The updates see the rows as locked (PostgreSQL re-reads a row
 * another transaction changed meanwhile). A run of the same key that committed while this one waited for the
 * lock is not in this statement's snapshot: the insert's ON CONFLICT finds it in the unique index instead, and
 * nothing moves.
 */
const TRANSFER = sql<
  TransferRow,
  [
    customerNumber: string,
    fromType: string,
    toType: string,
    key: string,
    amountMinor: string,
    at: Date,
    debitText: string,
    creditText: string,
  ]
>(
  'transfer_apply',
  `WITH locked AS MATERIALIZED (
          SELECT a.id, a.account_type, a.currency, a.balance_minor
            FROM accounts a JOIN customers c ON c.id = a.customer_id
           WHERE c.customer_number = $1 AND a.account_type IN ($2, $3)
           ORDER BY a.id FOR UPDATE OF a),
        source AS (SELECT * FROM locked WHERE account_type = $2),
        target AS (SELECT * FROM locked WHERE account_type = $3),
        earlier AS (SELECT EXISTS (SELECT 1 FROM transfers WHERE idempotency_key = $4) AS done),
        allowed AS (
          SELECT source.id AS from_id, target.id AS to_id FROM source, target, earlier
           WHERE NOT earlier.done AND source.currency = target.currency AND source.balance_minor >= $5::bigint),
        transfer AS (
          INSERT INTO transfers (idempotency_key, from_account_id, to_account_id, amount_minor)
          SELECT $4, from_id, to_id, $5::bigint FROM allowed
          ON CONFLICT (idempotency_key) DO NOTHING
          RETURNING id, from_account_id, to_account_id),
        debit AS (
          UPDATE accounts SET balance_minor = balance_minor - $5::bigint, balance_updated_at = $6
           WHERE id = (SELECT from_account_id FROM transfer) RETURNING balance_minor),
        credit AS (
          UPDATE accounts SET balance_minor = balance_minor + $5::bigint, balance_updated_at = $6
           WHERE id = (SELECT to_account_id FROM transfer) RETURNING balance_minor),
        history AS (
          INSERT INTO transactions (account_id, posted_at, description, amount_minor)
          SELECT from_account_id, $6, $7, -($5::bigint) FROM transfer
          UNION ALL
          SELECT to_account_id, $6, $8, $5::bigint FROM transfer)
   SELECT source.id AS "fromId", source.currency AS "fromCurrency", source.balance_minor AS "fromBalance",
          target.id AS "toId", target.currency AS "toCurrency", target.balance_minor AS "toBalance",
          earlier.done AS "alreadyDone", (SELECT id FROM transfer) AS "transferId",
          (SELECT balance_minor FROM debit) AS "debitedBalance", (SELECT balance_minor FROM credit) AS "creditedBalance"
     FROM earlier LEFT JOIN source ON true LEFT JOIN target ON true`,
);

/** The committed transfer with the turn's key, as a statement that starts now sees it. */
const BY_KEY = sql<{ fromId: string; toId: string; amountMinor: string }, [key: string]>(
  'transfer_by_key',
  `SELECT from_account_id AS "fromId", to_account_id AS "toId", amount_minor AS "amountMinor"
     FROM transfers WHERE idempotency_key = $1`,
);

/**
 * Moves money between two accounts of one customer in one statement (TRANSFER): both rows locked, the turn's
 * key and the balance checked, every write made. A second run of the same turn (a retry, a job re-run after a
 * crash, a replica that took over the turn) finds its key and moves nothing.
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
    const transferNow = async (): Promise<TransferOutcome> => {
      const [row] = await this.pool.run(TRANSFER, [
        customerNumber,
        fromType,
        toType,
        idempotencyKey,
        amountMinor.toString(),
        new Date(),
        `${description} to ${toType}`,
        `${description} from ${fromType}`,
      ]);
      const outcome = outcomeOf(row, fromType, toType, amountMinor);
      if (outcome.kind !== 'insufficient-funds' && outcome.kind !== 'already-done') return outcome;
      // A run of the same key that committed while this one waited for the lock is not in its snapshot, but its
      // debit is in the balance it locked: "insufficient funds" may be that debit. A new statement sees the key.
      const [earlier] = await this.pool.run(BY_KEY, [idempotencyKey]);
      if (!earlier) return outcome;
      const same =
        earlier.fromId === row.fromId && earlier.toId === row.toId && earlier.amountMinor === amountMinor.toString();
      if (!same) return { kind: 'key-reused' };
      return outcome.kind === 'already-done'
        ? outcome
        : outcomeOf(withProperties(row, { alreadyDone: true }), fromType, toType, amountMinor);
    };
    return this.perCustomer.run(customerNumber, () => this.invalidatingAfter(customerNumber, transferNow), signal);
  }

  /**
   * The customer's cached balances go once the transfer is committed (or found done before); also when the statement failed in a way
   * that leaves its outcome unknown (the connection lost while it ran), since the money may have moved. Not when it
   * surely did not commit (cancelled at the turn's deadline, no connection in time): the turn is answered at once.
   */
  private async invalidatingAfter(
    customerNumber: string,
    transferNow: () => Promise<TransferOutcome>,
  ): Promise<TransferOutcome> {
    let outcome: TransferOutcome;
    try {
      outcome = await transferNow();
    } catch (error: unknown) {
      if (mayHaveCommitted(error)) await this.writes.committed(customerScope(customerNumber));
      throw error;
    }
    // Already done: the run that moved the money may have died between its commit and its invalidation.
    if (outcome.kind === 'done' || outcome.kind === 'already-done') {
      await this.writes.committed(customerScope(customerNumber));
    }
    return outcome;
  }
}

function outcomeOf(row: TransferRow, fromType: string, toType: string, amountMinor: bigint): TransferOutcome {
  const account = (id: string | null, accountType: string, currency: string | null, balance: string | null) =>
    id === null ? undefined : { id, accountType, currency: currency ?? '', balanceMinor: balance ?? '0' };
  const from = account(row.fromId, fromType, row.fromCurrency, row.fromBalance);
  const to = account(row.toId, toType, row.toCurrency, row.toBalance);
  if (!from) return { kind: 'unknown-account', accountType: fromType };
  if (!to) return { kind: 'unknown-account', accountType: toType };
  if (row.transferId !== null) {
    return {
      kind: 'done',
      from: withProperties(from, { balanceMinor: row.debitedBalance ?? from.balanceMinor }),
      to: withProperties(to, { balanceMinor: row.creditedBalance ?? to.balanceMinor }),
    };
  }
  if (row.alreadyDone) return { kind: 'already-done', from, to };
  if (from.currency !== to.currency) return { kind: 'currency-mismatch' };
  if (BigInt(from.balanceMinor) < amountMinor) return { kind: 'insufficient-funds', from };
  // Allowed, yet nothing moved: a run of the same key committed while this one waited for the lock.
  return { kind: 'already-done', from, to };
}
