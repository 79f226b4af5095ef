import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A signed message id seen within the replay window (Standard Webhooks `webhook-id`), with its body's digest. */
@Entity({ name: 'replay_guard' })
@Index('IDX_replay_guard_expires_at', ['expiresAt'])
export class ReplayEntry {
  @PrimaryColumn({ name: 'caller_id', type: 'varchar', length: 64 })
  callerId!: string;

  @PrimaryColumn({ name: 'message_id', type: 'varchar', length: 256 })
  messageId!: string;

  /** Hex SHA-256 of the raw body signed under this id: a retry must repeat it. Null for entries from before. */
  @Column({ name: 'body_digest', type: 'char', length: 64, nullable: true })
  bodyDigest!: string | null;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;
}
