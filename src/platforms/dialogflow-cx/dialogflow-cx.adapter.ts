import { Injectable } from '@nestjs/common';
import { confirmationChips } from '../confirmation-chips';
import { AppError } from '../../common/errors/app-error';
import type {
  DispatchInput,
  DispatchOutcome,
  FulfillmentResult,
  FulfillmentStage,
  RichMessage,
} from '../../fulfillment';
import {
  type AdaptedTurn,
  type CheckedResponse,
  type PlatformAdapter,
  type WebhookCall,
  WebhookAdapter,
} from '../platform-adapter';
import {
  DIALOGFLOW_CX_FLOW_PATTERN,
  DIALOGFLOW_CX_PAGE_PATTERN,
  DIALOGFLOW_CX_SESSION_PATTERN,
  DialogflowCxPageInfo,
  DialogflowCxWebhookRequest,
  PARAMETER_STATES,
  routeOf,
} from './dialogflow-cx.request';
import {
  DIALOGFLOW_CX_MAX_RESPONSE_BYTES,
  DialogflowCxMessage,
  DialogflowCxWebhookResponse,
  RichContentChip,
  RichContentElement,
} from './dialogflow-cx.response';
import type { Caller } from '../../common/caller';
import { languageTagOf } from '../../common/validation/bounds';

const RESOURCE_ID = /^[^/\s]+$/;
const HTTP_URL = /^https?:\/\//i;

/**
 * Where in the conversation CX calls us. The rule:
 * - `dialog` while the page's form is still being filled: a parameter is INVALID, or a required parameter is
 *   not FILLED (EMPTY, or a state left unspecified).
 * - `fulfillment` otherwise: no form, or every required parameter is FILLED. Optional EMPTY parameters do not
 *   hold the form open (CX does not prompt for them), and `justCollected` alone does not make a turn `dialog`:
 *   when the last parameter is collected, CX runs the form-completion route's webhook in that same turn, with
 *   `justCollected` still true, and that call must reach fulfillment handlers.
 */
export function stageOf(pageInfo: DialogflowCxPageInfo | undefined): FulfillmentStage {
  const parameters = pageInfo?.formInfo?.parameterInfo ?? [];
  const open = parameters.some(
    (parameter) => parameter.state === 'INVALID' || (parameter.required === true && parameter.state !== 'FILLED'),
  );
  return open ? 'dialog' : 'fulfillment';
}

/** Session values, then the intent's resolved values, then the form's current values (which CX keeps up to date). */
function withoutNulls(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== null && value !== undefined));
}

export function parametersOf(body: DialogflowCxWebhookRequest): Record<string, unknown> {
  // Values collected on earlier pages live in the session; this turn's intent and form values override them.
  const parameters: Record<string, unknown> = { ...withoutNulls(body.sessionInfo.parameters ?? {}) };
  for (const [name, value] of Object.entries(body.intentInfo?.parameters ?? {})) {
    if (value.resolvedValue !== undefined) parameters[name] = value.resolvedValue;
  }
  for (const parameter of body.pageInfo?.formInfo?.parameterInfo ?? []) {
    if (parameter.value !== undefined) parameters[parameter.displayName] = parameter.value;
  }
  return parameters;
}

/** Maps a validated Dialogflow CX request to the platform-neutral model; `routeOf` must have found an intent. */
export function toDispatchInput(body: DialogflowCxWebhookRequest, caller: Caller): DispatchInput {
  const intent = routeOf(body) ?? '';
  const stage = stageOf(body.pageInfo);
  return {
    platform: 'dialogflow-cx',
    requestId: body.detectIntentResponseId,
    // One CX turn can call several webhooks (a form parameter's and the form-completion route's): the response
    // id with the webhook's tag and stage tells them apart.
    turnKey: `${body.detectIntentResponseId}\n${intent}\n${stage}`,
    sessionId: body.sessionInfo.session,
    intent,
    parameters: parametersOf(body),
    // CX has no contexts: session parameters and pages replace them.
    contexts: [],
    sessionParameters: body.sessionInfo.parameters ?? {},
    stage,
    confirmation: 'none',
    queryText: body.text ?? body.transcript ?? body.dtmfDigits,
    // An agent with automatic language detection answers in the language it detected, not the one requested.
    languageCode: resolvedLanguageOf(body) ?? (body.languageCode || 'en'),
    caller,
    raw: body,
  };
}

/** `languageInfo.resolvedLanguageCode` when it is a language tag (`languageInfo` is read as sent, never refused). */
function resolvedLanguageOf(body: DialogflowCxWebhookRequest): string | undefined {
  const info: unknown = (body as { languageInfo?: unknown }).languageInfo;
  return typeof info === 'object' && info !== null
    ? languageTagOf((info as { resolvedLanguageCode?: unknown }).resolvedLanguageCode)
    : undefined;
}

/** What a rendered response refers to: the request's session and current page, to qualify transition targets. */
export interface DialogflowCxTurn {
  readonly session: string;
  readonly currentPage?: string;
}

export function turnOf(body: DialogflowCxWebhookRequest): DialogflowCxTurn {
  return { session: body.sessionInfo.session, currentPage: body.pageInfo?.currentPage };
}

function richContent(...elements: RichContentElement[]): DialogflowCxMessage {
  return { payload: { richContent: [elements] } };
}

function chip(text: string, link?: string): RichContentChip {
  return { text, ...(link && HTTP_URL.test(link) && { anchor: { href: link } }) };
}

/**
 * Text stays a text message; the rest becomes a Dialogflow Messenger `richContent` payload. A quick-replies
 * title is sent as a text message before the chips (chips have no title). A card becomes an `info` element
 * with its buttons as chips; a button whose postback is an http(s) URL links to it, any other postback is
 * dropped (a chip sends its own text).
 */
function renderMessage(message: RichMessage): DialogflowCxMessage[] {
  switch (message.type) {
    case 'text':
      return message.text ? [{ text: { text: [message.text] } }] : [];
    case 'quick-replies':
      return [
        ...(message.title ? [{ text: { text: [message.title] } }] : []),
        richContent({ type: 'chips', options: message.replies.map((reply) => chip(reply)) }),
      ];
    case 'card': {
      const info: RichContentElement = {
        type: 'info',
        title: message.title,
        ...(message.subtitle && { subtitle: message.subtitle }),
        ...(message.imageUrl && { image: { rawUrl: message.imageUrl } }),
      };
      const buttons = message.buttons ?? [];
      return [
        buttons.length
          ? richContent(info, { type: 'chips', options: buttons.map((button) => chip(button.text, button.postback)) })
          : richContent(info),
      ];
    }
    case 'image':
      return [
        richContent({
          type: 'image',
          rawUrl: message.imageUrl,
          ...(message.accessibilityText && { accessibilityText: message.accessibilityText }),
        }),
      ];
    case 'payload':
      return [{ payload: { ...message.payload } }];
  }
}

function messagesOf(result: FulfillmentResult, languageCode: string): DialogflowCxMessage[] {
  const rich: RichMessage[] = [...(result.messages ?? [{ type: 'text', text: result.text }])];
  // CX has no confirmation step a webhook can start: ask with the text and offer Yes/No chips.
  if (result.confirm && !rich.some((message) => message.type === 'quick-replies')) {
    rich.push({ type: 'quick-replies', replies: confirmationChips(languageCode) });
  }
  const messages = rich.flatMap(renderMessage);
  if (result.handoff) {
    messages.push({
      liveAgentHandoff: { metadata: { ...(result.handoff.reason && { reason: result.handoff.reason }) } },
    });
  }
  if (result.endConversation) messages.push({ conversationSuccess: {} });
  return messages;
}

/** A page id is qualified with the current page's flow, a flow id with the session's agent; full names pass. */
function qualifyPage(page: string, turn: DialogflowCxTurn): string {
  if (!RESOURCE_ID.test(page)) return page;
  const flow = DIALOGFLOW_CX_PAGE_PATTERN.exec(turn.currentPage ?? '')?.groups?.flow;
  return flow ? `${flow}/pages/${page}` : page;
}

function qualifyFlow(flow: string, turn: DialogflowCxTurn): string {
  if (!RESOURCE_ID.test(flow)) return flow;
  const agent = DIALOGFLOW_CX_SESSION_PATTERN.exec(turn.session)?.groups?.agent;
  return agent ? `${agent}/flows/${flow}` : flow;
}

/**
 * Renders a result as a Dialogflow CX `WebhookResponse`. Messages are appended to the fulfillment's own
 * (`mergeBehavior` APPEND); session parameters are sent as the change to make (`null` removes one, as CX
 * does); an elicit marks the form parameter INVALID and clears its session value so CX collects it again, with
 * `text` as the prompt; a transition becomes `targetPage` / `targetFlow` (both are rendered if both are given, so that
 * `checkResponse` refuses the response); the end of the conversation is `conversationSuccess` and, without another
 * transition, the flow's END_SESSION page. A delegated turn answers with an empty fulfillment response, so
 * the agent's own messages and form handling go on. Contexts and followup events have no CX equivalent and
 * are ignored.
 */
export function renderResponse(
  result: FulfillmentResult,
  turn: DialogflowCxTurn,
  languageCode = 'en',
): DialogflowCxWebhookResponse {
  const response: DialogflowCxWebhookResponse = {
    fulfillmentResponse: result.delegate ? {} : { messages: messagesOf(result, languageCode), mergeBehavior: 'APPEND' },
  };
  if (result.sessionParameters) response.sessionInfo = { parameters: { ...result.sessionParameters } };
  if (result.elicit) {
    // INVALID is the one state a webhook can set (CX ignores others, EMPTY included), and the parameter's value
    // is cleared, as Google's form-validation sample does, so that CX collects it again rather than keep it.
    const { parameter } = result.elicit;
    response.pageInfo = { formInfo: { parameterInfo: [{ displayName: parameter, required: true, state: 'INVALID' }] } };
    const parameters = { ...response.sessionInfo?.parameters };
    if (!Object.hasOwn(parameters, parameter)) parameters[parameter] = null;
    response.sessionInfo = { parameters };
  }
  if (result.payload) response.payload = { ...result.payload };
  if (result.transition?.page !== undefined) response.targetPage = qualifyPage(result.transition.page, turn);
  if (result.transition?.flow !== undefined) response.targetFlow = qualifyFlow(result.transition.flow, turn);
  // conversationSuccess only marks the conversation successful in CX's analytics; the session ends on the
  // END_SESSION page (named in the current page's flow; unknown without a current page, then it is left out).
  if (result.endConversation && !result.delegate && result.transition === undefined) {
    const end = qualifyPage('END_SESSION', turn);
    if (end !== 'END_SESSION') response.targetPage = end;
  }
  return response;
}

/**
 * Checks a rendered response against what Dialogflow CX accepts, returning the problems and the serialised
 * body (so it is serialised once). CX fails the webhook call on an invalid or oversized response.
 */
export function checkResponse(response: DialogflowCxWebhookResponse): { problems: string[]; json: string } {
  const problems: string[] = [];
  if (response.targetPage !== undefined && response.targetFlow !== undefined) {
    problems.push('targetPage and targetFlow are both set; CX accepts at most one');
  }
  if (response.targetPage !== undefined && !DIALOGFLOW_CX_PAGE_PATTERN.test(response.targetPage)) {
    problems.push(`targetPage "${response.targetPage}" is not a page name`);
  }
  if (response.targetFlow !== undefined && !DIALOGFLOW_CX_FLOW_PATTERN.test(response.targetFlow)) {
    problems.push(`targetFlow "${response.targetFlow}" is not a flow name`);
  }
  for (const parameter of response.pageInfo?.formInfo.parameterInfo ?? []) {
    if (!parameter.displayName.trim()) problems.push('form parameter has an empty displayName');
    if (!PARAMETER_STATES.includes(parameter.state) || parameter.state === 'PARAMETER_STATE_UNSPECIFIED') {
      problems.push(`form parameter "${parameter.displayName}" has an invalid state`);
    }
  }
  for (const name of Object.keys(response.sessionInfo?.parameters ?? {})) {
    if (!name.trim()) problems.push('session parameter has an empty name');
  }
  let json = '';
  try {
    json = JSON.stringify(response);
  } catch {
    problems.push('response is not serialisable to JSON');
  }
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > DIALOGFLOW_CX_MAX_RESPONSE_BYTES) {
    problems.push(`response is ${bytes} bytes, over Dialogflow CX's ${DIALOGFLOW_CX_MAX_RESPONSE_BYTES}-byte limit`);
  }
  return { problems, json };
}

const WHAT = 'Dialogflow CX WebhookRequest';

/** Dialogflow CX: `POST /v1/webhooks/dialogflow-cx` with a `WebhookRequest`, answered with a `WebhookResponse`. */
@WebhookAdapter('dialogflow-cx')
@Injectable()
export class DialogflowCxAdapter implements PlatformAdapter<
  DialogflowCxWebhookRequest,
  DialogflowCxTurn,
  DialogflowCxWebhookResponse
> {
  readonly platform = 'dialogflow-cx';
  readonly requestType = DialogflowCxWebhookRequest;
  readonly requestName = WHAT;

  /** A call is routed by its webhook tag, or by the matched intent when it has no tag: one of them is needed. */
  toTurn(request: DialogflowCxWebhookRequest, call: WebhookCall): AdaptedTurn<DialogflowCxTurn> {
    if (!routeOf(request)) {
      throw new AppError('VALIDATION_FAILED', `${WHAT} is invalid: fulfillmentInfo.tag.`, [
        { field: 'fulfillmentInfo.tag', problem: 'is required when intentInfo.displayName is absent' },
      ]);
    }
    return { input: toDispatchInput(request, call.caller), state: turnOf(request) };
  }

  render(
    result: FulfillmentResult,
    _outcome: DispatchOutcome,
    turn: AdaptedTurn<DialogflowCxTurn>,
  ): DialogflowCxWebhookResponse {
    return renderResponse(result, turn.state, turn.input.languageCode);
  }

  check(response: DialogflowCxWebhookResponse): CheckedResponse {
    return checkResponse(response);
  }
}
