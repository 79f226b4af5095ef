import { Injectable, ScopeOptions } from '@nestjs/common';
import { SCOPE_OPTIONS_METADATA } from '@nestjs/common/constants';
import { DiscoveryService } from '@nestjs/core';
import type { FulfillmentStage } from './fulfillment-request';

export interface IntentHandlerOptions {
  /**
   * The stages the handler acts on (default: fulfillment only). A handler that also validates slots while
   * the platform is still collecting them (Lex dialog code hooks, CX form validation) lists `dialog`; for a
   * stage it does not list, the platform is told to carry on by itself.
   */
  readonly stages?: readonly FulfillmentStage[];
  /**
   * The handler changes state (moves money, books, writes a lead). Its calls are made idempotent: a retried
   * or duplicated platform request gets the stored reply instead of running the handler again. Read-only
   * handlers (the default) skip that write on the hot path.
   */
  readonly changesState?: boolean;
  /**
   * `async`: acknowledge at once and run the handler as a background job; its result is delivered to the
   * caller's callback URL and can be polled. Default `sync`.
   */
  readonly mode?: HandlerMode;
}

export type HandlerMode = 'sync' | 'async';

export interface IntentHandlerMetadata {
  readonly intent: string;
  readonly stages: readonly FulfillmentStage[];
  readonly changesState: boolean;
  readonly mode: HandlerMode;
}

export const IntentHandlerMarker = DiscoveryService.createDecorator<IntentHandlerMetadata>();

/**
 * Marks a provider as the handler of one intent. The class must implement `FulfillmentHandler`, be listed
 * in a module's providers, and stay a singleton (per-request data arrives in the `FulfillmentRequest`).
 *
 * ```ts
 * @IntentHandler('GetAccountBalance')
 * export class AccountBalanceHandler implements FulfillmentHandler { … }
 *
 * @IntentHandler('BookAppointment', { stages: ['dialog', 'fulfillment'], changesState: true })
 * @IntentHandler('ExportStatements', { mode: 'async' })
 * ```
 */
export function IntentHandler(intent: string, options: IntentHandlerOptions = {}): ClassDecorator {
  if (typeof intent !== 'string' || intent.trim() === '') {
    throw new TypeError('@IntentHandler needs a non-empty intent name');
  }
  return (target) => {
    // Keep a scope set by an @Injectable() applied before this one, so the registry can reject it
    // instead of the handler silently becoming a singleton.
    const scope = Reflect.getMetadata(SCOPE_OPTIONS_METADATA, target) as ScopeOptions | undefined;
    Injectable(scope)(target);
    IntentHandlerMarker({
      intent,
      stages: options.stages ?? ['fulfillment'],
      changesState: options.changesState ?? false,
      mode: options.mode ?? 'sync',
    })(target);
  };
}
