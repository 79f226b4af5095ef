import type { FaultCluster, FaultPostgres } from './fault-cluster';
import { CUSTOMERS, OPENING_BALANCE_MINOR } from './fault-cluster';
import { genericTurnKey } from '../../support/generic-turns';
import { type Attempt, confirmed, type TransferTurn } from './turn-load';

export interface Reconciliation {
  /** Transfers sent and never carried out (their turn has no row in `transfers`). */
  readonly lost: string[];
  /** Turns with more than one transfer row (the unique index should make this impossible). */
  readonly doubled: string[];
  /** Turns confirmed to the caller ("Done") whose money did not move. */
  readonly confirmedButMissing: string[];
  /** Accounts whose balance is not the opening balance plus what the transfers say. */
  readonly balanceMismatches: string[];
  /** Accounts whose balance is not the opening balance plus the sum of their ledger entries. */
  readonly ledgerMismatches: string[];
  readonly transfers: number;
}

/** Balances of the test customers' accounts, by `customer type`. */
export type Balances = ReadonlyMap<string, bigint>;

export async function balancesOf(cluster: FaultCluster<FaultPostgres>): Promise<Balances> {
  const rows = await cluster.query<{ customer: string; type: string; balance: string }>(
    `SELECT c.customer_number AS customer, a.account_type AS type, a.balance_minor AS balance
       FROM accounts a JOIN customers c ON c.id = a.customer_id WHERE c.customer_number = ANY($1)`,
    [CUSTOMERS],
  );
  return new Map(rows.map((row) => [`${row.customer} ${row.type}`, BigInt(row.balance)]));
}

/**
 * Checks the money against what was sent and answered: every transfer turn moved its amount exactly once,
 * each account's balance is its balance `before` plus its transfers, and its whole ledger adds up to it.
 */
export async function reconcile(
  cluster: FaultCluster<FaultPostgres>,
  before: Balances,
  turns: readonly TransferTurn[],
  attempts: readonly Attempt[],
): Promise<Reconciliation> {
  const keys = turns.map((turn) => genericTurnKey(turn.requestId));
  const rows = await cluster.query<{ idempotency_key: string; n: string; amount: string }>(
    `SELECT idempotency_key, count(*) AS n, sum(amount_minor) AS amount FROM transfers
      WHERE idempotency_key = ANY($1) GROUP BY idempotency_key`,
    [keys],
  );
  const byKey = new Map(rows.map((row) => [row.idempotency_key, row]));
  const lost = turns.filter((turn) => !byKey.has(genericTurnKey(turn.requestId))).map((turn) => turn.requestId);
  const doubled = turns
    .filter((turn) => Number(byKey.get(genericTurnKey(turn.requestId))?.n ?? 0) > 1)
    .map((t) => t.requestId);
  const confirmedIds = new Set(attempts.filter(confirmed).map((attempt) => attempt.requestId));
  const confirmedButMissing = [...confirmedIds].filter(
    (id) => turns.some((t) => t.requestId === id) && !byKey.has(genericTurnKey(id)),
  );

  const moved = new Map<string, bigint>();
  for (const turn of turns) {
    const row = byKey.get(genericTurnKey(turn.requestId));
    if (row) moved.set(turn.customer, (moved.get(turn.customer) ?? 0n) + BigInt(row.amount));
  }
  const accounts = await cluster.query<{ customer: string; type: string; balance: string; ledger: string }>(
    `SELECT c.customer_number AS customer, a.account_type AS type, a.balance_minor AS balance,
            COALESCE((SELECT sum(t.amount_minor) FROM transactions t WHERE t.account_id = a.id), 0) AS ledger
       FROM accounts a JOIN customers c ON c.id = a.customer_id WHERE c.customer_number = ANY($1)`,
    [CUSTOMERS],
  );
  const balanceMismatches: string[] = [];
  const ledgerMismatches: string[] = [];
  for (const account of accounts) {
    const delta = moved.get(account.customer) ?? 0n;
    const start = before.get(`${account.customer} ${account.type}`) ?? OPENING_BALANCE_MINOR;
    const expected = account.type === 'checking' ? start - delta : start + delta;
    const balance = BigInt(account.balance);
    if (balance !== expected) {
      balanceMismatches.push(`${account.customer} ${account.type}: ${balance}, expected ${expected}`);
    }
    if (balance !== OPENING_BALANCE_MINOR + BigInt(account.ledger)) {
      ledgerMismatches.push(`${account.customer} ${account.type}: ${balance}, ledger ${account.ledger}`);
    }
  }
  return { lost, doubled, confirmedButMissing, balanceMismatches, ledgerMismatches, transfers: rows.length };
}
