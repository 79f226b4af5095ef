import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type IdempotencyState = 'in-flight' | 'completed';

/**
 * One state-changing turn: claimed by the replica running it (in-flight, with a lease), then completed with
 * the exact response sent, which retries and duplicates get back.
 */
@Entity({ name: 'idempotency_records' })
@Index('IDX_idempotency_records_expires_at', ['expiresAt'])
export class IdempotencyRecord {
  @PrimaryColumn({ primaryKeyConstraintName: 'PK_idempotency_records', name: 'caller_id', type: 'varchar', length: 64 })
  callerId!: string;

  /** SHA-256 (hex) of caller, platform and the platform's turn id (see `idempotencyKeyOf`). */
  @PrimaryColumn({ primaryKeyConstraintName: 'PK_idempotency_records', name: 'key', type: 'char', length: 64 })
  key!: string;

  @Column({ type: 'varchar', length: 20 })
  platform!: string;

  /** SHA-256 (hex) of the request body in canonical form: the same key with another body is refused. */
  @Column({ name: 'request_hash', type: 'char', length: 64 })
  requestHash!: string;

  @Column({ type: 'varchar', length: 12 })
  state!: IdempotencyState;

  /** Which replica runs it; only that one may complete or release it. */
  @Column({ type: 'varchar', length: 64 })
  owner!: string;

  /** Past this, an in-flight record's owner is presumed dead and another replica may take it over. */
  @Column({ name: 'lease_expires_at', type: 'timestamptz', nullable: true })
  leaseExpiresAt!: Date | null;

  @Column({ name: 'response_status', type: 'smallint', nullable: true })
  responseStatus!: number | null;

  @Column({ name: 'response_body', type: 'text', nullable: true })
  responseBody!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;
}
