import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One security-relevant event. Append-only: a trigger refuses updates; only retention deletes rows. */
@Entity({ name: 'audit_events' })
@Index('IDX_audit_events_occurred_at', ['occurredAt'])
export class AuditEvent {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @CreateDateColumn({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;

  /** OWASP logging vocabulary name, e.g. `authn_login_fail`. */
  @Column({ type: 'varchar', length: 64 })
  event!: string;

  /** The caller id, or "unknown" when nobody was identified. */
  @Column({ name: 'caller_id', type: 'varchar', length: 64 })
  callerId!: string;

  @Column({ type: 'varchar', length: 32, nullable: true })
  method!: string | null;

  @Column({ type: 'varchar', length: 16 })
  outcome!: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  reason!: string | null;

  @Column({ name: 'remote_address', type: 'varchar', length: 64, nullable: true })
  remoteAddress!: string | null;

  @Column({ name: 'request_id', type: 'varchar', length: 128, nullable: true })
  requestId!: string | null;

  @Column({ name: 'trace_id', type: 'varchar', length: 32, nullable: true })
  traceId!: string | null;

  @Column({ type: 'varchar', length: 256, nullable: true })
  detail!: string | null;

  /** The route refused (method and path, never the query string), when the event is about an HTTP/gRPC call. */
  @Column({ type: 'varchar', length: 256, nullable: true })
  route!: string | null;

  /** On a summary row (reason `audit-suppressed`): how many rows of this event the source's budget dropped. */
  @Column({ type: 'integer', nullable: true })
  dropped!: number | null;
}
