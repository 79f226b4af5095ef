import type { Metadata } from '@grpc/grpc-js';
import { Controller, UseFilters, UseGuards } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { ApiExcludeController } from '@nestjs/swagger';
import { AppError } from '../common/errors/app-error';
import type { FulfillRequestMessage, FulfillResponseMessage } from './fulfill.mapping';
import {
  FulfillmentGrpcService,
  GrpcTurnContext,
  HandleWebhookRequestMessage,
  HandleWebhookResponseMessage,
} from './fulfillment.grpc.service';
import { GrpcAuth } from './grpc-auth.decorator';
import { GrpcUnaryCall, metadataValue } from './grpc-call';
import { GrpcCallerAuthGuard } from './grpc-caller-auth.guard';
import { GrpcCallerThrottlerGuard } from './grpc-caller-throttler.guard';
import { GrpcErrorFilter } from './grpc-error.filter';

function turnContext(metadata: Metadata, call: GrpcUnaryCall): GrpcTurnContext {
  const { caller, platform, requestId } = call;
  // The guards set these; a method reached without them fails closed.
  if (!caller || !platform || !requestId) throw new AppError('UNAUTHENTICATED', 'Missing or invalid credentials.');
  return {
    caller,
    platform,
    requestId,
    deadline: call.getDeadline(),
    arrivedAt: call.arrivedAt ?? performance.now(),
    idempotencyKey: metadataValue(metadata, 'idempotency-key'),
    // Only a Standard Webhooks signature vouches for the webhook-id (it signs it): Fulfill has no signed bytes, so
    // there it is whatever the client wrote, and would name the turn as if it were the sender's own key.
    webhookId: call.bodySigned === true ? singleValue(metadataValue(metadata, 'webhook-id')) : undefined,
    bodySigned: call.bodySigned === true,
  };
}

function singleValue(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** `fulfillment.v1.FulfillmentService`, behind the same authentication and throttling as the webhooks. */
@ApiExcludeController()
@Controller()
@UseFilters(GrpcErrorFilter)
@UseGuards(GrpcCallerAuthGuard, GrpcCallerThrottlerGuard)
export class FulfillmentGrpcController {
  constructor(private readonly service: FulfillmentGrpcService) {}

  @GrpcMethod('FulfillmentService', 'Fulfill')
  @GrpcAuth({ platform: 'generic' })
  fulfill(request: FulfillRequestMessage, metadata: Metadata, call: GrpcUnaryCall): Promise<FulfillResponseMessage> {
    return this.service.fulfill(request, turnContext(metadata, call));
  }

  @GrpcMethod('FulfillmentService', 'HandleWebhook')
  @GrpcAuth({ platform: { field: 'platform' }, signedField: 'json' })
  handleWebhook(
    request: HandleWebhookRequestMessage,
    metadata: Metadata,
    call: GrpcUnaryCall,
  ): Promise<HandleWebhookResponseMessage> {
    return this.service.handleWebhook(request, turnContext(metadata, call));
  }
}
