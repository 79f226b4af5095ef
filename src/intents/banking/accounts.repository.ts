import { Injectable } from '@nestjs/common';
import { ReadThroughCache } from '../../cache/read-through-cache';
import { DatabasePool } from '../../database/database-pool';
import { customerScope, lagTolerant } from '../committed-writes';
import { sql } from '../../database/sql';
import type { Account } from './entities/account.entity';
import type { Transaction } from './entities/transaction.entity';

/** An account as the handlers read it. */
export type AccountView = Pick<
  Account,
  'id' | 'customerId' | 'accountType' | 'accountNumberLast4' | 'currency' | 'balanceMinor' | 'balanceUpdatedAt'
>;

/** A posted transaction as the handlers read it. */
export type TransactionView = Pick<Transaction, 'id' | 'accountId' | 'postedAt' | 'description' | 'amountMinor'>;

const ACCOUNT_COLUMNS = `a.id, a.customer_id AS "customerId", a.account_type AS "accountType",
  a.account_number_last4 AS "accountNumberLast4", a.currency, a.balance_minor AS "balanceMinor",
  a.balance_updated_at AS "balanceUpdatedAt"`;

// The hot path of the most frequent intent (see bench/): one indexed read, prepared once per connection.
const FIND_ACCOUNT = sql<AccountView, [customerNumber: string, accountType: string]>(
  'banking_find_account',
  `SELECT ${ACCOUNT_COLUMNS}
     FROM accounts a JOIN customers c ON c.id = a.customer_id
    WHERE c.customer_number = $1 AND a.account_type = $2`,
);

const LIST_ACCOUNTS = sql<AccountView, [customerNumber: string]>(
  'banking_list_accounts',
  `SELECT ${ACCOUNT_COLUMNS}
     FROM accounts a JOIN customers c ON c.id = a.customer_id
    WHERE c.customer_number = $1
    ORDER BY a.account_type`,
);

const RECENT_TRANSACTIONS = sql<TransactionView, [accountId: string, limit: number]>(
  'banking_recent_transactions',
  `SELECT id, account_id AS "accountId", posted_at AS "postedAt", description, amount_minor AS "amountMinor"
     FROM transactions WHERE account_id = $1
    ORDER BY posted_at DESC, id ASC LIMIT $2`,
);

/** Balances change only by transfers, which invalidate the customer; postings from elsewhere show within this. */
const BALANCE_TTL_MS = 30_000;

/** Read access to a customer's accounts and their history; accounts and balances are cached per customer. */
@Injectable()
export class AccountsRepository {
  private readonly accounts;
  private readonly accountLists;

  constructor(
    private readonly pool: DatabasePool,
    cache: ReadThroughCache,
  ) {
    // Money: the turn after a transfer reads the new balance on whichever service replica it lands.
    const balances = { scope: 'customer', ttlMs: BALANCE_TTL_MS, exactAcrossReplicas: true };
    this.accounts = cache.define<AccountView | null>('balances', balances);
    this.accountLists = cache.define<AccountView[]>('account_lists', balances);
  }

  /** The customer's account of a type (unique per customer); the signal cancels the read in PostgreSQL. */
  findAccount(customerNumber: string, accountType: string, signal?: AbortSignal): Promise<AccountView | null> {
    return this.accounts.read(
      customerNumber,
      [accountType],
      async (abort) =>
        (
          await this.pool.run(
            FIND_ACCOUNT,
            [customerNumber, accountType],
            abort,
            lagTolerant(customerScope(customerNumber)),
          )
        )[0] ?? null,
      signal,
    );
  }

  listAccounts(customerNumber: string): Promise<readonly AccountView[]> {
    return this.accountLists.read(customerNumber, [], () =>
      this.pool.run(LIST_ACCOUNTS, [customerNumber], undefined, lagTolerant(customerScope(customerNumber))),
    );
  }

  recentTransactions(accountId: string, limit: number): Promise<TransactionView[]> {
    return this.pool.run(RECENT_TRANSACTIONS, [accountId, limit]);
  }
}
