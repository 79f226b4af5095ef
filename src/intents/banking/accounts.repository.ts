import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { Account } from './entities/account.entity';
import { Transaction } from './entities/transaction.entity';

/** Read access to a customer's accounts and their history. */
@Injectable()
export class AccountsRepository {
  private readonly accounts: Repository<Account>;
  private readonly transactions: Repository<Transaction>;

  constructor(@InjectDataSource() dataSource: DataSource) {
    this.accounts = dataSource.getRepository(Account);
    this.transactions = dataSource.getRepository(Transaction);
  }

  /** One indexed read: the customer's account of a type (unique per customer). */
  findAccount(customerNumber: string, accountType: string): Promise<Account | null> {
    return this.accounts
      .createQueryBuilder('account')
      .innerJoin('account.customer', 'customer')
      .where('customer.customerNumber = :customerNumber', { customerNumber })
      .andWhere('account.accountType = :accountType', { accountType })
      .getOne();
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
