import { DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { FulfillmentDispatcher } from './fulfillment.dispatcher';
import { FulfillmentOptions } from './fulfillment.options';
import { IntentHandlerRegistry } from './intent-handler.registry';

@Module({})
export class FulfillmentModule {
  static forRoot(options: FulfillmentOptions): DynamicModule {
    return {
      module: FulfillmentModule,
      global: true,
      imports: [DiscoveryModule],
      providers: [{ provide: FulfillmentOptions, useValue: options }, IntentHandlerRegistry, FulfillmentDispatcher],
      exports: [FulfillmentDispatcher, IntentHandlerRegistry],
    };
  }
}
