import { Module } from '@nestjs/common';
import { QualifyLeadHandler } from './handlers/qualify-lead.intent-handler';

const handlers = [QualifyLeadHandler];

@Module({ providers: [...handlers] })
export class CrmModule {}
