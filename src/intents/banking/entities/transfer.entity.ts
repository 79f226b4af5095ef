import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One completed transfer, keyed by the turn's idempotency key: however often the turn is run (a platform
 * retry, a job re-run after a crash), the second insert conflicts and no money moves again.
 */
@Entity({ name: 'transfers' })
@Index('UQ_transfers_idempotency_key', ['idempotencyKey'], { unique: true })
export class Transfer {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'PK_transfers' })
  id!: string;

  @Column({ name: 'idempotency_key', type: 'char', length: 64 })
  idempotencyKey!: string;

  @Column({ name: 'from_account_id', type: 'uuid' })
  fromAccountId!: string;

  @Column({ name: 'to_account_id', type: 'uuid' })
  toAccountId!: string;

  @Column({ name: 'amount_minor', type: 'bigint' })
  amountMinor!: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
