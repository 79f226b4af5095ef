import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppError } from '../../common/errors/app-error';
import { withProperties } from '../../common/objects';
import {
  type DispatchInput,
  type DispatchOutcome,
  type FulfillmentResult,
  IntentHandlerRegistry,
  type RichMessage,
  runsAsJob,
} from '../../fulfillment';
import {
  type AdaptedTurn,
  type CheckedResponse,
  type PlatformAdapter,
  type WebhookCall,
  WebhookAdapter,
} from '../platform-adapter';
import { GenericWebhookRequest } from './generic.request';
import { parseIdempotencyKey } from './idempotency-key.header';
import { GENERIC_MAX_RESPONSE_BYTES, GenericWebhookResponse } from './generic.response';
import type { Caller } from '../../common/caller';

/**
 * The id of the turn: the body's `requestId`, else the `Idempotency-Key` header, else the verified Standard
 * Webhooks `webhook-id` (the sender's own idempotency key, repeated on every retry), else a new UUID. A header
 * that is present but unusable is rejected rather than silently replaced, even when the body has an id. A turn of
 * a state-changing handler (`changesState`), or one queued as a job (`queued`), must have a key of its own: without
 * one a retry would run it again. When the caller signed the body (`bodySigned`), that key must be one the
 * signature covers: the body's, or a header equal to the `webhook-id`.
 */
export function resolveRequestId(
  body: GenericWebhookRequest,
  idempotencyKey: string | readonly string[] | undefined,
  options: { webhookId?: string; changesState?: boolean; queued?: boolean; bodySigned?: boolean } = {},
): string {
  const key = parseIdempotencyKey(idempotencyKey);
  if (body.requestId !== undefined && body.requestId !== null) return body.requestId;
  const why = options.changesState ? 'which changes state' : options.queued ? 'which runs as a job' : undefined;
  // A signed request's turn must be named by what the signature covers: anyone who saw the request could send
  // it again with a key of their own, and the handler would run again.
  if (options.bodySigned && why && key !== undefined && key !== options.webhookId) {
    throw new AppError('VALIDATION_FAILED', 'Generic webhook request is invalid: Idempotency-Key.', [
      {
        field: 'Idempotency-Key',
        problem:
          `is not covered by the signature: a signed request for intent "${body.intent}", ${why}, ` +
          'names its turn in the body (requestId) or by its webhook-id',
      },
    ]);
  }
  const id = key ?? options.webhookId;
  if (id !== undefined) return id;
  if (why) {
    throw new AppError('VALIDATION_FAILED', 'Generic webhook request is invalid: Idempotency-Key.', [
      {
        field: 'Idempotency-Key',
        problem: `is required for intent "${body.intent}", ${why} (or send requestId in the body)`,
      },
    ]);
  }
  return randomUUID();
}

/** Maps a validated generic request to the platform-neutral model. */
export function toDispatchInput(body: GenericWebhookRequest, caller: Caller, requestId: string): DispatchInput {
  return {
    platform: 'generic',
    requestId,
    sessionId: body.sessionId,
    intent: body.intent,
    parameters: body.parameters ?? {},
    contexts: (body.contexts ?? []).map((context) => ({
      name: context.name,
      lifespan: context.lifespan ?? undefined,
      parameters: context.parameters ?? {},
    })),
    sessionParameters: body.sessionParameters ?? {},
    stage: body.stage ?? 'fulfillment',
    confirmation: body.confirmation ?? 'none',
    queryText: body.text ?? undefined,
    languageCode: body.languageCode ?? 'en',
    caller,
    raw: body,
  };
}

function copyMessage(message: RichMessage): RichMessage {
  switch (message.type) {
    case 'quick-replies':
      return withProperties(message, { replies: [...message.replies] });
    case 'card':
      return message.buttons
        ? withProperties(message, { buttons: message.buttons.map((button) => ({ ...button })) })
        : { ...message };
    case 'payload':
      return withProperties(message, { payload: { ...message.payload } });
    default:
      return { ...message };
  }
}

/**
 * Renders a result in the generic format: every field of the result is kept (absent fields stay absent),
 * `messages` is always present (a single text message with `text` when the handler gave none and `text` is
 * not empty), and `outcome` and `requestId` are added.
 */
export function renderResponse(
  result: FulfillmentResult,
  outcome: DispatchOutcome,
  requestId: string,
): GenericWebhookResponse {
  const messages: RichMessage[] = result.messages
    ? result.messages.map(copyMessage)
    : result.text === ''
      ? []
      : [{ type: 'text', text: result.text }];
  // A handler may itself let the platform carry on (e.g. confirmed during the dialog stage): that is delegated too.
  const reported: DispatchOutcome = result.delegate ? 'delegated' : outcome;
  const response: GenericWebhookResponse = { requestId, outcome: reported, text: result.text, messages };
  if (result.contexts) {
    response.contexts = result.contexts.map((context) => ({
      name: context.name,
      lifespan: context.lifespan,
      ...(context.parameters && { parameters: { ...context.parameters } }),
    }));
  }
  if (result.sessionParameters) response.sessionParameters = { ...result.sessionParameters };
  if (result.elicit) response.elicit = { ...result.elicit };
  if (result.confirm !== undefined) response.confirm = result.confirm;
  if (result.handoff) response.handoff = { ...result.handoff };
  if (result.delegate !== undefined) response.delegate = result.delegate;
  if (result.failed !== undefined) response.failed = result.failed;
  if (result.endConversation !== undefined) response.endConversation = result.endConversation;
  if (result.followupEvent) {
    response.followupEvent = {
      ...result.followupEvent,
      ...(result.followupEvent.parameters && { parameters: { ...result.followupEvent.parameters } }),
    };
  }
  if (result.payload) response.payload = { ...result.payload };
  if (result.transition) response.transition = { ...result.transition };
  if (result.source !== undefined) response.source = result.source;
  return response;
}

/** Serialises a response once and reports why it may not be sent (unserialisable, over the size limit). */
export function checkResponse(response: GenericWebhookResponse): { problems: string[]; json: string } {
  let json: string;
  try {
    json = JSON.stringify(response);
  } catch {
    return { problems: ['response is not serialisable to JSON'], json: '' };
  }
  const bytes = Buffer.byteLength(json, 'utf8');
  const problems =
    bytes > GENERIC_MAX_RESPONSE_BYTES
      ? [`response is ${bytes} bytes, over the ${GENERIC_MAX_RESPONSE_BYTES}-byte limit`]
      : [];
  return { problems, json };
}

/** Our own JSON format for custom bots (and gRPC `Fulfill`): the result in full, plus outcome and request id. */
@WebhookAdapter('generic')
@Injectable()
export class GenericAdapter implements PlatformAdapter<GenericWebhookRequest, string, GenericWebhookResponse> {
  readonly platform = 'generic';
  readonly requestType = GenericWebhookRequest;
  readonly requestName = 'Generic webhook request';

  constructor(private readonly registry: IntentHandlerRegistry) {}

  /** The state kept for rendering is the turn's request id (the body's, a key, or a new one). */
  toTurn(request: GenericWebhookRequest, call: WebhookCall): AdaptedTurn<string> {
    const registered = this.registry.find(request.intent);
    const requestId = resolveRequestId(request, call.idempotencyKey, {
      webhookId: call.webhookId,
      changesState: registered?.changesState === true,
      queued: registered !== undefined && runsAsJob(registered, request.stage ?? 'fulfillment'),
      bodySigned: call.bodySigned === true,
    });
    return { input: toDispatchInput(request, call.caller, requestId), state: requestId };
  }

  render(result: FulfillmentResult, outcome: DispatchOutcome, turn: AdaptedTurn<string>): GenericWebhookResponse {
    return renderResponse(result, outcome, turn.state);
  }

  check(response: GenericWebhookResponse): CheckedResponse {
    return checkResponse(response);
  }
}
