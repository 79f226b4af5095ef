import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { Readiness } from './readiness';
import { AsyncModule } from '../async/async.module';
import { DatabaseModule } from '../database/database.module';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), DatabaseModule, AsyncModule],
  controllers: [HealthController],
  providers: [Readiness],
  exports: [Readiness],
})
export class HealthModule {}
