import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { SESSION_ID_MAX_LENGTH } from '../common/limits';
import type { FulfillmentResult } from '../fulfillment';

/** `async`: the handler runs as a job from the start; `deferred`: a turn outlived its deadline. */
export type FulfillmentMode = 'async' | 'deferred';
export type FulfillmentStatus = 'queued' | 'running' | 'completed' | 'failed';

/** Work finished after the turn was answered: its result, for polling, a later turn and the callback. */
@Entity({ name: 'fulfillments' })
@Index('IDX_fulfillments_expires_at', ['expiresAt'])
@Index('UQ_fulfillments_caller_key', ['callerId', 'idempotencyKey'], { unique: true })
export class FulfillmentRecord {
  @PrimaryColumn({ primaryKeyConstraintName: 'PK_fulfillments', type: 'uuid' })
  id!: string;

  @Column({ name: 'caller_id', type: 'varchar', length: 64 })
  callerId!: string;

  @Column({ type: 'varchar', length: 20 })
  platform!: string;

  @Column({ name: 'session_id', type: 'varchar', length: SESSION_ID_MAX_LENGTH })
  sessionId!: string;

  @Column({ type: 'varchar', length: 200 })
  intent!: string;

  @Column({ type: 'varchar', length: 10 })
  mode!: FulfillmentMode;

  @Column({ type: 'varchar', length: 12 })
  status!: FulfillmentStatus;

  @Column({ type: 'jsonb', nullable: true })
  result!: FulfillmentResult | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true })
  completedAt!: Date | null;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  /** An async turn's idempotency key: the turn queued again finds this fulfillment (null for late work). */
  @Column({ name: 'idempotency_key', type: 'char', length: 64, nullable: true })
  idempotencyKey!: string | null;
}

/** A fulfillment as the service reads it back (its expiry is the retention job's business). */
export type StoredFulfillment = Readonly<Omit<FulfillmentRecord, 'expiresAt' | 'idempotencyKey'>>;
