import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A signed message id seen within the replay window (Standard Webhooks `webhook-id`). */
@Entity({ name: 'replay_guard' })
@Index('IDX_replay_guard_expires_at', ['expiresAt'])
export class ReplayEntry {
  @PrimaryColumn({ name: 'caller_id', type: 'varchar', length: 64 })
  callerId!: string;

  @PrimaryColumn({ name: 'message_id', type: 'varchar', length: 256 })
  messageId!: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;
}
