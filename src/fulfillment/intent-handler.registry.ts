import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import type { FulfillmentHandler } from './fulfillment-handler';
import type { FulfillmentStage } from './fulfillment-request';
import { DuplicateIntentHandlerError, InvalidIntentHandlerError } from './fulfillment.errors';
import { HandlerMode, IntentHandlerMarker } from './intent-handler.decorator';

export interface RegisteredHandler {
  readonly intent: string;
  readonly stages: readonly FulfillmentStage[];
  readonly changesState: boolean;
  readonly mode: HandlerMode;
  readonly className: string;
  readonly handler: FulfillmentHandler;
}

/** Whether a turn of `handler` at `stage` is queued as a job (async handlers, at fulfillment) instead of run. */
export function runsAsJob(handler: RegisteredHandler, stage: FulfillmentStage): boolean {
  return handler.mode === 'async' && stage === 'fulfillment';
}

/** Finds every `@IntentHandler` provider at start-up and answers "who handles this intent?". */
@Injectable()
export class IntentHandlerRegistry implements OnModuleInit {
  private readonly logger = new Logger(IntentHandlerRegistry.name);
  private readonly byIntent = new Map<string, RegisteredHandler>();

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders({ metadataKey: IntentHandlerMarker.KEY })) {
      this.register(wrapper);
    }
    this.logger.log(`Intent handlers: ${[...this.byIntent.keys()].sort().join(', ') || '(none)'}`);
  }

  find(intent: string): RegisteredHandler | undefined {
    return this.byIntent.get(intent);
  }

  intents(): string[] {
    return [...this.byIntent.keys()];
  }

  private register(wrapper: InstanceWrapper): void {
    const metadata = this.discovery.getMetadataByDecorator(IntentHandlerMarker, wrapper);
    const className = wrapper.metatype?.name ?? String(wrapper.name);
    if (!metadata) return;
    if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient) {
      throw new InvalidIntentHandlerError(
        className,
        'is request-scoped or transient (or depends on such a provider); handlers must be singletons',
      );
    }
    const instance = wrapper.instance as Partial<FulfillmentHandler> | undefined;
    if (!instance || typeof instance.handle !== 'function') {
      throw new InvalidIntentHandlerError(className, 'has no handle(request) method');
    }
    const existing = this.byIntent.get(metadata.intent);
    if (existing) throw new DuplicateIntentHandlerError(metadata.intent, existing.className, className);
    this.byIntent.set(metadata.intent, {
      intent: metadata.intent,
      stages: metadata.stages,
      changesState: metadata.changesState,
      mode: metadata.mode,
      className,
      handler: instance as FulfillmentHandler,
    });
  }
}
