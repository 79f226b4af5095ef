import { Module } from '@nestjs/common';
import { OutboundModule } from '../../outbound';
import { CarrierClient } from './carrier.client';
import { CommerceRepository } from './commerce.repository';
import { CheckInventoryHandler } from './handlers/check-inventory.intent-handler';
import { GetOrderStatusHandler } from './handlers/get-order-status.intent-handler';
import { GetShippingEstimateHandler } from './handlers/get-shipping-estimate.intent-handler';
import { CacheModule } from '../../cache/cache.module';
import { DatabaseModule } from '../../database/database.module';

const repositories = [CommerceRepository];
const clients = [CarrierClient];
const handlers = [CheckInventoryHandler, GetOrderStatusHandler, GetShippingEstimateHandler];

@Module({
  imports: [DatabaseModule, CacheModule, OutboundModule],
  providers: [...repositories, ...clients, ...handlers],
})
export class CommerceModule {}
