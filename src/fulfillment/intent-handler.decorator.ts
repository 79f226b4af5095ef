import { Injectable, ScopeOptions } from '@nestjs/common';
import { SCOPE_OPTIONS_METADATA } from '@nestjs/common/constants';
import { DiscoveryService } from '@nestjs/core';

export interface IntentHandlerMetadata {
  readonly intent: string;
}

export const IntentHandlerMarker = DiscoveryService.createDecorator<IntentHandlerMetadata>();

/**
 * Marks a provider as the handler of one intent. The class must implement `FulfillmentHandler`, be listed
 * in a module's providers, and stay a singleton (per-request data arrives in the `FulfillmentRequest`).
 *
 * ```ts
 * @IntentHandler('GetAccountBalance')
 * export class AccountBalanceHandler implements FulfillmentHandler { … }
 * ```
 */
export function IntentHandler(intent: string): ClassDecorator {
  if (typeof intent !== 'string' || intent.trim() === '') {
    throw new TypeError('@IntentHandler needs a non-empty intent name');
  }
  return (target) => {
    // Keep a scope set by an @Injectable() applied before this one, so the registry can reject it
    // instead of the handler silently becoming a singleton.
    const scope = Reflect.getMetadata(SCOPE_OPTIONS_METADATA, target) as ScopeOptions | undefined;
    Injectable(scope)(target);
    IntentHandlerMarker({ intent })(target);
  };
}
