import { DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { FulfillmentDispatcher } from './fulfillment.dispatcher';
import { FulfillmentOptions } from './fulfillment.options';
import { IntentHandlerRegistry } from './intent-handler.registry';

/**
 * The intent handler registry and the dispatcher. `FulfillmentOptions` come from the application's
 * configuration (ConfigModule); `forRoot` gives them directly, for a module graph without it (tests).
 */
@Module({
  imports: [DiscoveryModule],
  providers: [IntentHandlerRegistry, FulfillmentDispatcher],
  exports: [FulfillmentDispatcher, IntentHandlerRegistry],
})
export class FulfillmentModule {
  static forRoot(options: FulfillmentOptions): DynamicModule {
    return {
      module: FulfillmentModule,
      providers: [{ provide: FulfillmentOptions, useValue: options }],
      exports: [FulfillmentOptions],
    };
  }
}
