import { DiscoveryService } from '@nestjs/core';
import type { ClassConstructor } from 'class-transformer';
import type { AppError } from '../common/errors/app-error';
import type { Platform } from '../common/platform';
import type { DispatchInput, DispatchOutcome, FulfillmentResult } from '../fulfillment';
import type { RenderedReply } from '../turn/turn-reply';
import type { Caller } from '../common/caller';

/** What a transport knows about one webhook call, besides its body. */
export interface WebhookCall {
  readonly caller: Caller;
  /** The transport's request id (`X-Request-Id`, `x-request-id` metadata), for log lines. */
  readonly requestId: string;
  /** The `Idempotency-Key` header (or gRPC metadata) as received, when the platform reads one. */
  readonly idempotencyKey?: string | string[];
  /** The Standard Webhooks `webhook-id` the caller's signature covered: the sender's idempotency key. */
  readonly webhookId?: string;
  /** The caller signed the body (Standard Webhooks, a signature header): `idempotencyKey` is not covered. */
  readonly bodySigned?: boolean;
  /** `performance.now()` when the call arrived (before its body was read): the turn's budget starts here. */
  readonly arrivedAt: number;
}

/** A turn as the adapter understood it: the dispatcher's input, and what rendering its reply needs. */
export interface AdaptedTurn<State> {
  readonly input: DispatchInput;
  readonly state: State;
}

/** A response in the platform's format, serialised once, and why the platform would refuse it (if it would). */
export interface CheckedResponse {
  readonly json: string;
  readonly problems: readonly string[];
}

/**
 * One chatbot platform's translation between its webhook format and the platform-neutral model. An adapter
 * only translates: the `WebhookRunner` validates the request with `requestType`, runs the turn and falls back
 * to a lighter reply, or the error reply, when a rendered response breaks the platform's rules.
 */
export interface PlatformAdapter<Request extends object = object, State = unknown, Response = unknown> {
  readonly platform: Platform;
  /** The request DTO (class-validator): fields the service acts on are checked; others are tolerated. */
  readonly requestType: ClassConstructor<Request>;
  /** How errors name the request, e.g. `Dialogflow ES WebhookRequest`. */
  readonly requestName: string;
  /** Answers before validation, in the platform's own error format, or lets the call through (Rasa's SDK). */
  preflight?(body: unknown, call: WebhookCall): RenderedReply | undefined;
  /** A body that failed validation, answered in the platform's own error format; undefined: our 400. */
  rejected?(error: AppError, body: unknown, call: WebhookCall): RenderedReply | undefined;
  /** Throws `AppError` for rules beyond the DTO's (e.g. a field required only in some shapes). */
  toTurn(request: Request, call: WebhookCall): AdaptedTurn<State>;
  render(result: FulfillmentResult, outcome: DispatchOutcome, turn: AdaptedTurn<State>): Response;
  /** The platform's response rules (size, names): the body to send and what the platform would refuse. */
  check(response: Response): CheckedResponse;
}

/** Marks a provider as the adapter of its platform; the `PlatformAdapters` registry finds it at start-up. */
export const WebhookAdapter = DiscoveryService.createDecorator<Platform>();
