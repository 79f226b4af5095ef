import { Global, Module } from '@nestjs/common';
import { IdempotencyService } from './idempotency.service';
import { IdempotencyStore } from './idempotency.store';

@Global()
@Module({ providers: [IdempotencyStore, IdempotencyService], exports: [IdempotencyService, IdempotencyStore] })
export class IdempotencyModule {}
