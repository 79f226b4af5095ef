import { Injectable } from '@nestjs/common';
import { confirmationChips } from '../confirmation-chips';
import { AppConfig } from '../../config';
import {
  type ContextUpdate,
  type ConversationContext,
  type DispatchInput,
  type DispatchOutcome,
  type FulfillmentResult,
  PENDING_FULFILLMENT_PARAMETER,
  type RichMessage,
} from '../../fulfillment';
import {
  type AdaptedTurn,
  type CheckedResponse,
  type PlatformAdapter,
  type WebhookCall,
  WebhookAdapter,
} from '../platform-adapter';
import {
  DIALOGFLOW_ES_CONTEXT_PATTERN,
  type DialogflowEsQueryResult,
  DialogflowEsWebhookRequest,
} from './dialogflow-es.request';
import {
  DIALOGFLOW_ES_MAX_RESPONSE_BYTES,
  DialogflowEsMessage,
  DialogflowEsOutputContext,
  DialogflowEsWebhookResponse,
} from './dialogflow-es.response';
import type { Caller } from '../../common/caller';

const CONTEXT_ID = /^[A-Za-z0-9_\-%]{1,250}$/;
/** Dialogflow ES has no session parameters: they live in this long-lived context instead. */
export const SESSION_CONTEXT = 'session-parameters';
/**
 * The one key of the session-parameters context, holding the session's values. When an intent matches, ES copies
 * its parameters into every active context, this one too (unfilled ones as `""`, each with a `<name>.original`),
 * over any value of the same name; it writes top-level keys only, so values one level down are out of its reach.
 */
export const SESSION_VALUES_KEY = 'webhook-session';
const SESSION_CONTEXT_LIFESPAN = 50;
const ORIGINAL_SUFFIX = '.original';
const EVENT_NAME = /^[A-Za-z0-9_-]{1,150}$/;

function isUnfilled(value: unknown): boolean {
  return value === '' || value === null || (Array.isArray(value) && value.length === 0);
}

/**
 * Dialogflow ES sends every parameter of the intent, unfilled ones as `""` or `[]`: those are left out, so a
 * handler's "is it there?" checks (and fallbacks to session values) work as for the other platforms.
 */
export function filledParameters(parameters: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(parameters).filter(([, value]) => !isUnfilled(value)));
}

/**
 * The session's values, from the parameters of the session-parameters context as ES sends it (with the parameters of
 * matched intents merged in). A context written before the values were kept under SESSION_VALUES_KEY holds them
 * flat: read from it is all but what can be told to be ES's, `*.original` keys and unfilled values (ES merges an
 * unfilled parameter as "" over a value of that name, and replies then sent the merged keys back). A filled parameter
 * ES merged looks like a session value and is kept; the reply then writes the nested form.
 *
 * During a rolling update a replica of the previous release reads the context flat and writes it back flat, the
 * nested values untouched and its handler's changes beside them: so the filled top-level keys are laid over the
 * nested values, except those ES merged this turn (`intentParameters`: the names of the matched intent's
 * parameters; the handler reads a filled one as a parameter). A value that replica removed comes back.
 */
export function sessionValuesOf(
  context: Readonly<Record<string, unknown>>,
  intentParameters: ReadonlySet<string>,
): Record<string, unknown> {
  const flat = Object.entries(context).filter(([key, value]) => !key.endsWith(ORIGINAL_SUFFIX) && !isUnfilled(value));
  if (!Object.hasOwn(context, SESSION_VALUES_KEY)) return Object.fromEntries(flat);
  const values = context[SESSION_VALUES_KEY];
  // Not an object: an intent parameter of that name overwrote it, and the values are lost.
  if (typeof values !== 'object' || values === null || Array.isArray(values)) return {};
  const writtenFlat = flat.filter(([key]) => key !== SESSION_VALUES_KEY && !intentParameters.has(key));
  return { ...values, ...Object.fromEntries(writtenFlat) };
}

/** Maps a validated Dialogflow ES request to the platform-neutral model. */
export function toDispatchInput(body: DialogflowEsWebhookRequest, caller: Caller): DispatchInput {
  const query = body.queryResult;
  const contexts: ConversationContext[] = (query.outputContexts ?? []).map((context) => ({
    name: DIALOGFLOW_ES_CONTEXT_PATTERN.exec(context.name)?.groups?.context ?? context.name,
    lifespan: context.lifespanCount,
    parameters: context.parameters ?? {},
  }));
  const session = contexts.find((context) => context.name === SESSION_CONTEXT);
  const intentParameters = new Set(Object.keys(query.parameters ?? {}));
  return {
    platform: 'dialogflow-es',
    requestId: body.responseId,
    // A handler's follow-up event makes ES call the webhook again, for the intent the event triggers, within the same
    // detectIntent and possibly with the same responseId: the intent tells the two calls apart (a retry repeats both).
    turnKey: `${body.responseId}\n${query.intent.displayName}`,
    sessionId: body.session,
    intent: query.intent.displayName,
    parameters: filledParameters(query.parameters ?? {}),
    contexts,
    sessionParameters: session ? sessionValuesOf(session.parameters, intentParameters) : {},
    stage: collectingSlots(query) ? 'dialog' : 'fulfillment',
    confirmation: 'none',
    queryText: query.queryText,
    languageCode: query.languageCode || 'en',
    caller,
    raw: body,
  };
}

function renderMessage(message: RichMessage): DialogflowEsMessage {
  switch (message.type) {
    case 'text':
      return { text: { text: [message.text] } };
    case 'quick-replies':
      return {
        quickReplies: message.title
          ? { title: message.title, quickReplies: [...message.replies] }
          : { quickReplies: [...message.replies] },
      };
    case 'card':
      return {
        card: {
          title: message.title,
          ...(message.subtitle && { subtitle: message.subtitle }),
          ...(message.imageUrl && { imageUri: message.imageUrl }),
          ...(message.buttons && { buttons: message.buttons.map((b) => ({ ...b })) }),
        },
      };
    case 'image':
      return {
        image: {
          imageUri: message.imageUrl,
          ...(message.accessibilityText && { accessibilityText: message.accessibilityText }),
        },
      };
    case 'payload':
      return { payload: { ...message.payload } };
  }
}

function messagesOf(result: FulfillmentResult, languageCode: string): RichMessage[] {
  const messages: RichMessage[] = [...(result.messages ?? [{ type: 'text', text: result.text }])];
  // ES has no confirmation step of its own: offer the answers as quick replies.
  if (result.confirm && !messages.some((message) => message.type === 'quick-replies')) {
    messages.push({ type: 'quick-replies', replies: confirmationChips(languageCode) });
  }
  return messages;
}

/**
 * The session-parameters context with the handler's changes (`null` removes a value), sent whenever the request
 * carried it (`current`: the session's values) and not only on a change: ES counts a context's lifespan down on
 * every query, so the values would otherwise lapse 50 turns after the last change. Only SESSION_VALUES_KEY is
 * written, which drops what ES merged into the context.
 */
function sessionContext(
  result: FulfillmentResult,
  current: Readonly<Record<string, unknown>> | undefined,
): ContextUpdate[] {
  if (!result.sessionParameters && current === undefined) return [];
  const values: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(result.sessionParameters ?? {})) {
    if (value === null) delete values[key];
    else values[key] = value;
  }
  return [{ name: SESSION_CONTEXT, lifespan: SESSION_CONTEXT_LIFESPAN, parameters: { [SESSION_VALUES_KEY]: values } }];
}

/**
 * Whether ES is still collecting the intent's required parameters (slot filling with "Enable webhook call for slot
 * filling"). Google writes its JSON leaving out every field that holds its default (an empty `action`, a `false`),
 * so a call made while parameters are missing has no `allRequiredParamsPresent` at all: only `true` is a
 * fulfillment call. Read as sent, never refused.
 */
function collectingSlots(query: DialogflowEsQueryResult): boolean {
  return (query as { allRequiredParamsPresent?: unknown }).allRequiredParamsPresent !== true;
}

/**
 * Replies that only renew the session-parameters context (the handler changed none), with the same reply without
 * it: the check sends that one when the renewal takes the reply over Dialogflow's limit (the values then live out the
 * lifespan they have), where the reply would be replaced by the error reply. Nothing is serialised twice.
 */
const withoutRenewal = new WeakMap<DialogflowEsWebhookResponse, () => DialogflowEsWebhookResponse>();

/**
 * Renders a result as a Dialogflow ES `WebhookResponse`; context names are qualified with the session.
 * ES lacks some features, which degrade: session parameters become a long-lived context (`sessionParameters`: the
 * session's values the request carried, undefined when it carried no such context), a confirmation gets Yes/No quick
 * replies, a hand-off and an end of conversation are signalled in `payload`, and a delegated turn answers with no
 * text so the intent's own responses are used.
 */
export function renderResponse(
  result: FulfillmentResult,
  session: string,
  defaultSource: string,
  sessionParameters?: Readonly<Record<string, unknown>>,
  languageCode = 'en',
): DialogflowEsWebhookResponse {
  const contexts = [...(result.contexts ?? []), ...sessionContext(result, sessionParameters)];
  const response: DialogflowEsWebhookResponse = result.delegate
    ? {}
    : {
        fulfillmentText: result.text,
        fulfillmentMessages: messagesOf(result, languageCode).map(renderMessage),
        source: result.source ?? defaultSource,
      };
  if (contexts.length) {
    response.outputContexts = contexts.map((context): DialogflowEsOutputContext => ({
      name: `${session}/contexts/${context.name}`,
      lifespanCount: context.lifespan,
      ...(context.parameters && { parameters: { ...context.parameters } }),
    }));
  }
  if (result.followupEvent) {
    response.followupEventInput = {
      name: result.followupEvent.name,
      // Required by Dialogflow ES; Google's own fulfillment library sends the request's.
      languageCode: result.followupEvent.languageCode || languageCode,
      ...(result.followupEvent.parameters && { parameters: { ...result.followupEvent.parameters } }),
    };
  }
  const payload: Record<string, unknown> = { ...result.payload };
  if (result.handoff) payload.handoff = { ...result.handoff };
  if (result.endConversation) payload.google = { ...(payload.google as object), expectUserResponse: false };
  if (Object.keys(payload).length > 0) response.payload = payload;
  if (!result.sessionParameters && sessionParameters !== undefined) {
    withoutRenewal.set(response, () => renderResponse(result, session, defaultSource, undefined, languageCode));
  }
  return response;
}

/**
 * Checks a rendered response against what Dialogflow accepts, returning the problems and the serialised
 * body (so it is serialised once). Dialogflow silently drops invalid or oversized responses.
 */
export function checkResponse(response: DialogflowEsWebhookResponse): { problems: string[]; json: string } {
  const problems: string[] = [];
  for (const context of response.outputContexts ?? []) {
    const qualified = DIALOGFLOW_ES_CONTEXT_PATTERN.exec(context.name)?.groups?.context;
    const id = qualified ?? context.name.slice(context.name.indexOf('/contexts/') + '/contexts/'.length);
    if (!qualified || !CONTEXT_ID.test(qualified)) problems.push(`output context "${id}" has an invalid name`);
    // "The Context ID is always converted to lowercase": the next turn would bring it back under another name, and
    // a handler looking for the name it set would not find it.
    else if (qualified !== qualified.toLowerCase()) {
      problems.push(`output context "${id}" has capital letters, which Dialogflow ES turns to lower case`);
    }
    if (!Number.isInteger(context.lifespanCount) || context.lifespanCount < 0) {
      problems.push(`output context "${id}" has an invalid lifespanCount`);
    }
  }
  if (response.followupEventInput && !EVENT_NAME.test(response.followupEventInput.name)) {
    problems.push('followup event has an invalid name');
  }
  let json = '';
  try {
    json = JSON.stringify(response);
  } catch {
    problems.push('response is not serialisable to JSON');
  }
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > DIALOGFLOW_ES_MAX_RESPONSE_BYTES) {
    problems.push(`response is ${bytes} bytes, over Dialogflow's ${DIALOGFLOW_ES_MAX_RESPONSE_BYTES}-byte limit`);
  }
  return { problems, json };
}

/**
 * With PENDING_FOLLOWUP_EVENT set, an interim reply also carries a follow-up event with the pending id:
 * Dialogflow ES answers it by calling the webhook again with a fresh 5 s budget (PendingFulfillment answers).
 */
export function withPendingFollowup(
  result: FulfillmentResult,
  outcome: DispatchOutcome,
  event: string | undefined,
): FulfillmentResult {
  const pendingId = result.sessionParameters?.[PENDING_FULFILLMENT_PARAMETER];
  if (!event || outcome !== 'timed-out' || typeof pendingId !== 'string') return result;
  return { ...result, followupEvent: { name: event, parameters: { [PENDING_FULFILLMENT_PARAMETER]: pendingId } } };
}

/** Dialogflow ES: `POST /v1/webhooks/dialogflow-es` with a `WebhookRequest`, answered with a `WebhookResponse`. */
@WebhookAdapter('dialogflow-es')
@Injectable()
export class DialogflowEsAdapter implements PlatformAdapter<
  DialogflowEsWebhookRequest,
  string,
  DialogflowEsWebhookResponse
> {
  readonly platform = 'dialogflow-es';
  readonly requestType = DialogflowEsWebhookRequest;
  readonly requestName = 'Dialogflow ES WebhookRequest';

  constructor(private readonly config: AppConfig) {}

  /** The state kept for rendering is the session name, which qualifies every output context. */
  toTurn(request: DialogflowEsWebhookRequest, call: WebhookCall): AdaptedTurn<string> {
    return { input: toDispatchInput(request, call.caller), state: request.session };
  }

  render(result: FulfillmentResult, outcome: DispatchOutcome, turn: AdaptedTurn<string>): DialogflowEsWebhookResponse {
    const { pendingFollowupEvent, responseSource } = this.config.fulfillment;
    return renderResponse(
      withPendingFollowup(result, outcome, pendingFollowupEvent),
      turn.state,
      responseSource,
      turn.input.contexts.some((context) => context.name === SESSION_CONTEXT)
        ? turn.input.sessionParameters
        : undefined,
      turn.input.languageCode,
    );
  }

  check(response: DialogflowEsWebhookResponse): CheckedResponse {
    const checked = checkResponse(response);
    const unrenewed = checked.problems.length > 0 ? withoutRenewal.get(response) : undefined;
    if (!unrenewed) return checked;
    const lighter = checkResponse(unrenewed());
    return lighter.problems.length === 0 ? lighter : checked;
  }
}
