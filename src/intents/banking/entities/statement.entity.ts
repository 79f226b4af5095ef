import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** A statement produced for a customer's request (RequestStatement), once per turn. */
@Entity({ name: 'statements' })
@Index('UQ_statements_idempotency_key', ['idempotencyKey'], { unique: true })
export class Statement {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'PK_statements' })
  id!: string;

  @Column({ name: 'idempotency_key', type: 'char', length: 64 })
  idempotencyKey!: string;

  @Column({ name: 'account_id', type: 'uuid' })
  accountId!: string;

  @Column({ name: 'period_start', type: 'timestamptz' })
  periodStart!: Date;

  @Column({ name: 'period_end', type: 'timestamptz' })
  periodEnd!: Date;

  @Column({ name: 'transaction_count', type: 'integer' })
  transactionCount!: number;

  @Column({ name: 'opening_minor', type: 'bigint' })
  openingMinor!: string;

  @Column({ name: 'closing_minor', type: 'bigint' })
  closingMinor!: string;

  /** The document archive's reference for the rendered statement; null until the archive has answered. */
  @Column({ name: 'archive_reference', type: 'varchar', length: 200, nullable: true })
  archiveReference!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
