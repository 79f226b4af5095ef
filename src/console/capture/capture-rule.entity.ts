import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Capture of request and response bodies switched on for a platform, a caller or both, until `expiresAt`. Set
 * by an operator in the console; every replica reads the rules that are in force.
 */
@Entity({ name: 'capture_rules' })
@Index('IDX_capture_rules_expires_at', ['expiresAt'])
@Check('CHK_capture_rules_scope', '"platform" IS NOT NULL OR "caller_id" IS NOT NULL')
export class CaptureRule {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id!: string;

  /** Only turns of this platform (any platform when null). */
  @Column({ type: 'varchar', length: 32, nullable: true })
  platform!: string | null;

  /** Only turns of this caller (any caller when null). */
  @Column({ name: 'caller_id', type: 'varchar', length: 128, nullable: true })
  callerId!: string | null;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  /** Who switched it on: the console user's sign-in and subject (OpenID Connect allows 255 characters). */
  @Column({ name: 'created_by', type: 'varchar', length: 300 })
  createdBy!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
