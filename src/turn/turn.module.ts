import { Module } from '@nestjs/common';
import { AsyncModule } from '../async/async.module';
import { DatabaseModule } from '../database/database.module';
import { FulfillmentModule } from '../fulfillment/fulfillment.module';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import { FulfillmentLookup } from './fulfillment-lookup';
import { TurnPipeline } from './turn-pipeline';

/** The turn pipeline: degraded mode, idempotency, dispatch, deferral and async hand-off. */
@Module({
  imports: [FulfillmentModule, IdempotencyModule, AsyncModule, DatabaseModule],
  providers: [TurnPipeline, FulfillmentLookup],
  exports: [TurnPipeline, FulfillmentLookup],
})
export class TurnModule {}
