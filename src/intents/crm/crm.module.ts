import { Module } from '@nestjs/common';
import { QualifyLeadHandler } from './handlers/qualify-lead.intent-handler';
import { LeadsRepository } from './leads.repository';
import { DatabaseModule } from '../../database/database.module';

const handlers = [QualifyLeadHandler];
const repositories = [LeadsRepository];

@Module({ imports: [DatabaseModule], providers: [...handlers, ...repositories] })
export class CrmModule {}
