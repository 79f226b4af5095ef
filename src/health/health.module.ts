import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { CertificateExpiryMetric } from './certificate-expiry.metric';
import { ProbeServer } from './probe-server';
import { Readiness } from './readiness';
import { AsyncModule } from '../async/async.module';
import { DatabaseModule } from '../database/database.module';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), DatabaseModule, AsyncModule],
  controllers: [HealthController],
  providers: [Readiness, ProbeServer, CertificateExpiryMetric],
  exports: [Readiness],
})
export class HealthModule {}
