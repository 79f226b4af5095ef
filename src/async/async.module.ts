import { Module } from '@nestjs/common';
import { DeferredResults } from '../fulfillment';
import { AsyncFulfillments } from './async-fulfillments';
import { CallbackDeliveries } from './callback-deliveries';
import { DeliveryAdministration } from './delivery-admin';
import { FulfillmentResults } from './fulfillment-results';
import { JobQueue } from './job-queue';
import { PendingFulfillmentHandler } from './pending-fulfillment.intent-handler';
import { Retention } from './retention';
import { DiscoveryModule } from '@nestjs/core';
import { DatabaseModule } from '../database/database.module';
import { FulfillmentModule } from '../fulfillment/fulfillment.module';
import { OutboundModule } from '../outbound/outbound.module';

/** pg-boss jobs, late and async results, signed callbacks, retention; the results polling reads. */
@Module({
  imports: [DiscoveryModule, DatabaseModule, FulfillmentModule, OutboundModule],
  providers: [
    JobQueue,
    FulfillmentResults,
    { provide: DeferredResults, useExisting: FulfillmentResults },
    CallbackDeliveries,
    DeliveryAdministration,
    AsyncFulfillments,
    PendingFulfillmentHandler,
    Retention,
  ],
  exports: [
    JobQueue,
    FulfillmentResults,
    DeferredResults,
    CallbackDeliveries,
    DeliveryAdministration,
    AsyncFulfillments,
    Retention,
  ],
})
export class AsyncModule {}
