import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/**
 * A sales lead qualified by a bot; one row per caller and email address (another caller's lead of the same address
 * is its own), re-scored on everything known of it when it comes back.
 */
@Entity({ name: 'leads' })
@Index('UQ_leads_caller_email', ['callerId', 'email'], { unique: true })
export class Lead {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 254 })
  email!: string;

  @Column({ type: 'varchar', length: 200, nullable: true })
  name!: string | null;

  @Column({ type: 'varchar', length: 200 })
  company!: string;

  @Column({ name: 'company_size', type: 'integer', nullable: true })
  companySize!: number | null;

  /** Yearly budget in whole currency units. */
  @Column({ type: 'integer', nullable: true })
  budget!: number | null;

  @Column({ name: 'timeline_months', type: 'integer', nullable: true })
  timelineMonths!: number | null;

  @Column({ name: 'decision_maker', type: 'boolean', nullable: true })
  decisionMaker!: boolean | null;

  @Column({ type: 'integer' })
  score!: number;

  @Column({ type: 'varchar', length: 64 })
  queue!: string;

  /** Which caller (bot) brought the lead in. */
  @Column({ name: 'caller_id', type: 'varchar', length: 64 })
  callerId!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
