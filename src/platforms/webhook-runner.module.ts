import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { FulfillmentModule } from '../fulfillment/fulfillment.module';
import { ThrottlingModule } from '../throttling/throttling.module';
import { TurnModule } from '../turn/turn.module';
import { PlatformAdapters } from './platform-adapters';
import { WebhookRunner } from './webhook-runner';

/**
 * What every platform's webhook route uses: the adapter registry, the runner, the reply interceptor, and the
 * guards' modules (a guard named in @UseGuards is built in the controller's module).
 */
@Module({
  imports: [DiscoveryModule, TurnModule, FulfillmentModule, ThrottlingModule],
  providers: [PlatformAdapters, WebhookRunner],
  exports: [PlatformAdapters, WebhookRunner, FulfillmentModule, ThrottlingModule],
})
export class WebhookRunnerModule {}
