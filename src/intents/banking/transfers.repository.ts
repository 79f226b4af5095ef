import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Account } from './entities/account.entity';
import { Transaction } from './entities/transaction.entity';
import { Transfer } from './entities/transfer.entity';

export type TransferOutcome =
  | { readonly kind: 'done'; readonly from: Account; readonly to: Account }
  /** This turn's transfer was already made (a retry or a re-run): nothing moved this time. */
  | { readonly kind: 'already-done'; readonly from: Account; readonly to: Account }
  | { readonly kind: 'insufficient-funds'; readonly from: Account }
  | { readonly kind: 'unknown-account'; readonly accountType: string }
  | { readonly kind: 'currency-mismatch' };

/** Moves money between two accounts of one customer: both writes and the balance check in one transaction. */
@Injectable()
export class TransfersRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transfer(
    customerNumber: string,
    fromType: string,
    toType: string,
    amountMinor: bigint,
    description: string,
    idempotencyKey: string,
  ): Promise<TransferOutcome> {
    return this.dataSource.transaction('READ COMMITTED', async (manager) => {
      // Lock both rows in a fixed order (by id) so concurrent transfers in opposite directions cannot deadlock.
      const accounts = await manager
        .getRepository(Account)
        .createQueryBuilder('account')
        .innerJoin('account.customer', 'customer')
        .where('customer.customerNumber = :customerNumber', { customerNumber })
        .andWhere('account.accountType IN (:...types)', { types: [fromType, toType] })
        .orderBy('account.id', 'ASC')
        .setLock('pessimistic_write')
        .getMany();
      const from = accounts.find((account) => account.accountType === fromType);
      const to = accounts.find((account) => account.accountType === toType);
      if (!from) return { kind: 'unknown-account', accountType: fromType };
      if (!to) return { kind: 'unknown-account', accountType: toType };
      // Both rows are locked, so a concurrent run of the same turn waits here and then finds the key taken.
      const done = await manager.findOne(Transfer, { where: { idempotencyKey }, select: { id: true } });
      if (done) return { kind: 'already-done', from, to };
      if (from.currency !== to.currency) return { kind: 'currency-mismatch' };
      if (BigInt(from.balanceMinor) < amountMinor) return { kind: 'insufficient-funds', from };
      await manager.insert(Transfer, {
        idempotencyKey,
        fromAccountId: from.id,
        toAccountId: to.id,
        amountMinor: amountMinor.toString(),
      });

      const now = new Date();
      from.balanceMinor = (BigInt(from.balanceMinor) - amountMinor).toString();
      to.balanceMinor = (BigInt(to.balanceMinor) + amountMinor).toString();
      from.balanceUpdatedAt = now;
      to.balanceUpdatedAt = now;
      await this.save(manager, from, -amountMinor, `${description} to ${to.accountType}`, now);
      await this.save(manager, to, amountMinor, `${description} from ${from.accountType}`, now);
      return { kind: 'done', from, to };
    });
  }

  private async save(
    manager: EntityManager,
    account: Account,
    amountMinor: bigint,
    description: string,
    postedAt: Date,
  ): Promise<void> {
    await manager.update(
      Account,
      { id: account.id },
      { balanceMinor: account.balanceMinor, balanceUpdatedAt: account.balanceUpdatedAt },
    );
    await manager.insert(Transaction, {
      accountId: account.id,
      postedAt,
      description,
      amountMinor: amountMinor.toString(),
    });
  }
}
