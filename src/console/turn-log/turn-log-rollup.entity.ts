import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One period (a minute, a quarter of an hour) of one intent on one platform, rolled up from the turn log as its
 * batches are written, in the same statement: what the console's Intents view reads, so that a window's figures
 * come from a row per period and intent rather than from every turn. Purged with the turn log.
 */
@Entity({ name: 'turn_log_rollup' })
@Index('IDX_turn_log_rollup_intent', ['intent', 'spanSeconds', 'startsAt'])
export class TurnLogRollup {
  /** The period's length: 60 or 900. */
  @PrimaryColumn({ name: 'span_seconds', type: 'integer' })
  spanSeconds!: number;

  @PrimaryColumn({ name: 'starts_at', type: 'timestamptz' })
  startsAt!: Date;

  @PrimaryColumn({ type: 'varchar', length: 32 })
  platform!: string;

  @PrimaryColumn({ type: 'varchar', length: 200 })
  intent!: string;

  @Column({ type: 'integer' })
  turns!: number;

  /** Turns whose outcome counts as an error (as `fulfillment_errors_total` counts them). */
  @Column({ type: 'integer' })
  errors!: number;

  /** Turns that timed out or took longer than their budget. */
  @Column({ name: 'deadline_misses', type: 'integer' })
  deadlineMisses!: number;

  /** The largest budget among the period's turns. */
  @Column({ name: 'budget_max_ms', type: 'integer' })
  budgetMaxMs!: number;

  @Column({ name: 'duration_min_ms', type: 'real' })
  durationMinMs!: number;

  @Column({ name: 'duration_max_ms', type: 'real' })
  durationMaxMs!: number;

  /** The period's turns counted by duration, in the buckets of `latency-histogram.ts`. */
  @Column({ type: 'integer', array: true })
  latency!: number[];
}
