import { Module } from '@nestjs/common';
import { AuditLog } from './audit-log';
import { RefusalAudit } from './refusal-audit';
import { DatabaseModule } from '../database/database.module';

/** The append-only audit trail of security events. */
@Module({ imports: [DatabaseModule], providers: [AuditLog, RefusalAudit], exports: [AuditLog] })
export class AuditModule {}
