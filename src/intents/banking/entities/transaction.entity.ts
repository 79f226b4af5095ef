import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Account } from './account.entity';

@Entity({ name: 'transactions' })
@Index('IDX_transactions_account_posted', ['accountId', 'postedAt'])
export class Transaction {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'account_id', type: 'uuid' })
  accountId!: string;

  @ManyToOne('Account', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'account_id' })
  account?: Account;

  @Column({ name: 'posted_at', type: 'timestamptz' })
  postedAt!: Date;

  @Column({ type: 'varchar', length: 200 })
  description!: string;

  /** Signed amount in minor units of the account's currency: negative for debits. */
  @Column({ name: 'amount_minor', type: 'bigint' })
  amountMinor!: string;
}
