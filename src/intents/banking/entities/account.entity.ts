import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { Customer } from './customer.entity';

@Entity({ name: 'accounts' })
@Index('UQ_accounts_customer_type', ['customerId', 'accountType'], { unique: true })
export class Account {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'customer_id', type: 'uuid' })
  customerId!: string;

  @ManyToOne(() => Customer, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'customer_id' })
  customer?: Customer;

  /** checking, savings, credit-card, … as the bot's `account_type` entity names them. */
  @Column({ name: 'account_type', type: 'varchar', length: 32 })
  accountType!: string;

  @Column({ name: 'account_number_last4', type: 'char', length: 4 })
  accountNumberLast4!: string;

  /** ISO 4217 code. */
  @Column({ type: 'char', length: 3 })
  currency!: string;

  /** Balance in minor units (cents); bigint arrives as a string so no precision is lost. */
  @Column({ name: 'balance_minor', type: 'bigint' })
  balanceMinor!: string;

  @Column({ name: 'balance_updated_at', type: 'timestamptz' })
  balanceUpdatedAt!: Date;
}
