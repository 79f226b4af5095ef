import { Module } from '@nestjs/common';
import { IdempotencyService } from './idempotency.service';
import { IdempotencyStore } from './idempotency.store';
import { DatabaseModule } from '../database/database.module';

@Module({
  imports: [DatabaseModule],
  providers: [IdempotencyStore, IdempotencyService],
  exports: [IdempotencyService, IdempotencyStore],
})
export class IdempotencyModule {}
