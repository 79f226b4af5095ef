import { Column, Entity, JoinColumn, OneToOne, PrimaryColumn } from 'typeorm';
import { TurnLogEntry } from './turn-log-entry.entity';

/**
 * A turn's request and reply bodies, kept only while a capture rule matched the turn, redacted before they are
 * written (keys stay; values only under allow-listed names). Goes with its turn when the turn log is purged.
 */
@Entity({ name: 'turn_captures' })
export class TurnCapture {
  @PrimaryColumn({ name: 'turn_id', type: 'bigint' })
  turnId!: string;

  @OneToOne(() => TurnLogEntry, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'turn_id' })
  turn?: TurnLogEntry;

  /** The webhook route the request came to (`/v1/webhooks/dialogflow-es`). */
  @Column({ type: 'varchar', length: 200 })
  path!: string;

  @Column({ type: 'jsonb' })
  request!: unknown;

  /** The reply's HTTP status, when the turn produced a reply. */
  @Column({ name: 'response_status', type: 'integer', nullable: true })
  responseStatus!: number | null;

  @Column({ type: 'jsonb', nullable: true })
  response!: unknown;
}
