import { Module } from '@nestjs/common';
import { QualifyLeadHandler } from './handlers/qualify-lead.intent-handler';
import { DatabaseModule } from '../../database/database.module';

const handlers = [QualifyLeadHandler];

@Module({ imports: [DatabaseModule], providers: [...handlers] })
export class CrmModule {}
