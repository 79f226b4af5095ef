import { CALLBACK_URL_MAX_LENGTH } from '../common/limits';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** `dead`: every attempt failed or the receiver refused it for good; replayable by an operator. */
export type DeliveryStatus = 'pending' | 'delivered' | 'dead' | 'disabled';

/** One signed callback: the same `webhook-id` and body on every attempt. */
@Entity({ name: 'callback_deliveries' })
@Index('IDX_callback_deliveries_status', ['status', 'createdAt'])
export class CallbackDelivery {
  /** The Standard Webhooks `webhook-id` (`msg_…`). */
  @PrimaryColumn({ primaryKeyConstraintName: 'PK_callback_deliveries', type: 'varchar', length: 64 })
  id!: string;

  @Column({ name: 'fulfillment_id', type: 'uuid' })
  fulfillmentId!: string;

  @Column({ name: 'caller_id', type: 'varchar', length: 64 })
  callerId!: string;

  @Column({ type: 'varchar', length: CALLBACK_URL_MAX_LENGTH })
  url!: string;

  @Column({ type: 'text' })
  payload!: string;

  @Column({ type: 'varchar', length: 12 })
  status!: DeliveryStatus;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'last_status', type: 'smallint', nullable: true })
  lastStatus!: number | null;

  @Column({ name: 'last_error', type: 'varchar', length: 500, nullable: true })
  lastError!: string | null;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true })
  nextAttemptAt!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;

  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt!: Date | null;
}

/** A callback URL whose receiver answered 410 Gone: nothing more is sent to it until an operator replays. */
@Entity({ name: 'disabled_callbacks' })
export class DisabledCallback {
  @PrimaryColumn({ primaryKeyConstraintName: 'PK_disabled_callbacks', name: 'caller_id', type: 'varchar', length: 64 })
  callerId!: string;

  @PrimaryColumn({
    primaryKeyConstraintName: 'PK_disabled_callbacks',
    type: 'varchar',
    length: CALLBACK_URL_MAX_LENGTH,
  })
  url!: string;

  @Column({ name: 'disabled_at', type: 'timestamptz', default: () => 'now()' })
  disabledAt!: Date;
}
