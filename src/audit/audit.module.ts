import { Module } from '@nestjs/common';
import { AuditLog } from './audit-log';
import { AuditSearch } from './audit-search';
import { RefusalAudit } from './refusal-audit';
import { DatabaseModule } from '../database/database.module';

/** The append-only audit trail of security events. */
@Module({
  imports: [DatabaseModule],
  providers: [AuditLog, AuditSearch, RefusalAudit],
  exports: [AuditLog, AuditSearch],
})
export class AuditModule {}
