import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { DatabasePool } from '../../database/database-pool';
import { Account } from './entities/account.entity';
import { Transaction } from './entities/transaction.entity';

type AccountRow = Pick<
  Account,
  'id' | 'customerId' | 'accountType' | 'accountNumberLast4' | 'currency' | 'balanceMinor' | 'balanceUpdatedAt'
>;

const FIND_ACCOUNT_SQL = `
  SELECT a.id, a.customer_id AS "customerId", a.account_type AS "accountType",
         a.account_number_last4 AS "accountNumberLast4", a.currency, a.balance_minor AS "balanceMinor",
         a.balance_updated_at AS "balanceUpdatedAt"
    FROM accounts a
    JOIN customers c ON c.id = a.customer_id
   WHERE c.customer_number = $1 AND a.account_type = $2`;

/** Read access to a customer's accounts and their history. */
@Injectable()
export class AccountsRepository {
  private readonly accounts: Repository<Account>;
  private readonly transactions: Repository<Transaction>;

  constructor(
    @InjectDataSource() dataSource: DataSource,
    private readonly pool: DatabasePool,
  ) {
    this.accounts = dataSource.getRepository(Account);
    this.transactions = dataSource.getRepository(Transaction);
  }

  /**
   * One indexed read: the customer's account of a type (unique per customer). This is the hot path of the
   * most frequent intent (see bench/), so it is a prepared statement on TypeORM's own pool rather than a
   * query builder rebuilt on every call; the row is still returned as an entity.
   */
  async findAccount(customerNumber: string, accountType: string, signal?: AbortSignal): Promise<Account | null> {
    const rows = await this.pool.query<AccountRow>(
      'banking_find_account',
      FIND_ACCOUNT_SQL,
      [customerNumber, accountType],
      signal,
    );
    return rows.length > 0 ? this.accounts.create(rows[0]) : null;
  }

  listAccounts(customerNumber: string): Promise<Account[]> {
    return this.accounts
      .createQueryBuilder('account')
      .innerJoin('account.customer', 'customer')
      .where('customer.customerNumber = :customerNumber', { customerNumber })
      .orderBy('account.accountType', 'ASC')
      .getMany();
  }

  recentTransactions(accountId: string, limit: number): Promise<Transaction[]> {
    return this.transactions.find({ where: { accountId }, order: { postedAt: 'DESC', id: 'ASC' }, take: limit });
  }
}
