import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One finished turn, as the operator console lists it: who asked what, how it ended and how long it took. No
 * parameters or bodies (those are captured apart, only when switched on). Written in batches off the request
 * path and kept for TURN_LOG_RETENTION_HOURS.
 */
@Entity({ name: 'turn_log' })
@Index('IDX_turn_log_at', ['at'])
@Index('IDX_turn_log_intent_at', ['intent', 'at'])
export class TurnLogEntry {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id!: string;

  /** When the turn finished. */
  @Column({ type: 'timestamptz' })
  at!: Date;

  @Column({ name: 'request_id', type: 'varchar', length: 256 })
  requestId!: string;

  /** The turn's trace, when tracing recorded it. */
  @Column({ name: 'trace_id', type: 'varchar', length: 32, nullable: true })
  traceId!: string | null;

  @Column({ type: 'varchar', length: 32 })
  platform!: string;

  @Column({ type: 'varchar', length: 200 })
  intent!: string;

  @Column({ name: 'caller_id', type: 'varchar', length: 128 })
  callerId!: string;

  /** `fulfilled`, `failed`, `timed-out`, `replayed`, `queued`, `degraded`, `busy`, `conflict`, `error`, … */
  @Column({ type: 'varchar', length: 16 })
  outcome!: string;

  @Column({ name: 'duration_ms', type: 'real' })
  durationMs!: number;

  /** The platform's budget for the turn. */
  @Column({ name: 'budget_ms', type: 'integer' })
  budgetMs!: number;
}
