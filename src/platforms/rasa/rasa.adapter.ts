import { Injectable, Logger } from '@nestjs/common';
import { confirmationChips } from '../confirmation-chips';
import type { AppError } from '../../common/errors/app-error';
import { AppConfig } from '../../config';
import {
  type DispatchInput,
  type DispatchOutcome,
  type FulfillmentResult,
  IntentHandlerRegistry,
  type RichMessage,
} from '../../fulfillment';
import type { RenderedReply } from '../../turn/turn-reply';
import {
  type AdaptedTurn,
  type CheckedResponse,
  type PlatformAdapter,
  type WebhookCall,
  WebhookAdapter,
} from '../platform-adapter';
import { RasaActionMap } from './rasa.actions';
import { RasaActionCall } from './rasa.request';
import type { RasaActionResponse, RasaErrorBody, RasaEvent, RasaResponseMessage } from './rasa.response';
import { RasaSlotNames, type RasaSlotState, slotEventsOf, slotStateOf } from './rasa.slots';
import { rasaTurnIdOf } from './rasa.turn-id';
import type { Caller } from '../../common/caller';
import { languageTagOf } from '../../common/validation/bounds';

const LANGUAGE_KEYS = ['language', 'languageCode', 'language_code'] as const;

/** The conversation id: the top-level `sender_id`, else the tracker's (validation guarantees one). */
export function senderIdOf(call: RasaActionCall): string {
  return call.sender_id ?? call.tracker.sender_id ?? '';
}

function languageOf(metadata: unknown): string {
  if (typeof metadata !== 'object' || metadata === null) return 'en';
  for (const key of LANGUAGE_KEYS) {
    // Only a language tag: the value comes from the channel (a web chat's own metadata).
    const tag = languageTagOf((metadata as Readonly<Record<string, unknown>>)[key]);
    if (tag) return tag;
  }
  return 'en';
}

/**
 * Whether the call is the active form's own step: its validation action (`validate_<form>`, which Rasa runs while
 * the form fills its slots) or the loop itself. Any other action called while a form is active (a rule answering
 * the user's question mid-form) is a request to act now.
 */
function isFormStep(call: RasaActionCall): boolean {
  const form = call.tracker.active_loop?.name;
  return !!form && (call.next_action === `validate_${form}` || call.next_action === form);
}

/**
 * Maps a validated Rasa action call to the platform-neutral model.
 *
 * - `parameters`: the tracker's slots that have a value, overlaid with the latest message's entities
 *   (entity name → value; the first value wins when an entity occurs twice, like the SDK's
 *   `next(tracker.get_latest_entity_values(name))`). Entities win over slots: they are this turn's words.
 * - `sessionParameters`: all the slots, as sent (a `null` slot is one the domain declares but is unset).
 * - `contexts`: none; Rasa keeps all conversation state in slots.
 * - `stage`: `dialog` for the active form's own step (`validate_<form>`), else `fulfillment`.
 * - `requestId` and `turnKey`: Rasa has no id per action call; both are made from the user message the call
 *   answers (its `message_id` and `timestamp`), the events since and the action (see `rasaTurnIdOf`).
 * - `languageCode`: `language`, `languageCode` or `language_code` in the latest message's metadata, else `en`.
 */
export function toDispatchInput(call: RasaActionCall, intent: string, caller: Caller): DispatchInput {
  const { tracker } = call;
  const slots = tracker.slots ?? {};
  const message = tracker.latest_message ?? {};
  const parameters: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(slots)) {
    if (value !== null && value !== undefined) parameters[name] = value;
  }
  const entities: Record<string, unknown> = {};
  for (const entity of message.entities ?? []) {
    if (!Object.hasOwn(entities, entity.entity) && entity.value !== undefined && entity.value !== null) {
      entities[entity.entity] = entity.value;
    }
  }
  Object.assign(parameters, entities);
  const senderId = senderIdOf(call);
  const stage = isFormStep(call) ? 'dialog' : 'fulfillment';
  return {
    platform: 'rasa',
    ...rasaTurnIdOf(call, senderId, stage),
    sessionId: senderId,
    intent,
    parameters,
    contexts: [],
    sessionParameters: { ...slots },
    stage,
    confirmation: 'none',
    queryText: message.text ?? undefined,
    languageCode: languageOf(message.metadata),
    caller,
    raw: call,
  };
}

function renderMessage(message: RichMessage): RasaResponseMessage {
  switch (message.type) {
    case 'text':
      return { text: message.text };
    case 'quick-replies':
      return {
        text: message.title ?? '',
        buttons: message.replies.map((reply) => ({ title: reply, payload: reply })),
      };
    case 'image':
      return { image: message.imageUrl };
    case 'card':
      return {
        custom: {
          card: {
            title: message.title,
            ...(message.subtitle && { subtitle: message.subtitle }),
            ...(message.imageUrl && { imageUrl: message.imageUrl }),
            ...(message.buttons && { buttons: message.buttons.map((button) => ({ ...button })) }),
          },
        },
      };
    case 'payload':
      return { custom: { ...message.payload } };
  }
}

function messagesOf(result: FulfillmentResult, languageCode: string): RichMessage[] {
  const messages: RichMessage[] = [...(result.messages ?? (result.text ? [{ type: 'text', text: result.text }] : []))];
  // A confirmation becomes Yes/No buttons, as in Dialogflow ES.
  if (result.confirm && !messages.some((message) => message.type === 'quick-replies')) {
    messages.push({ type: 'quick-replies', replies: confirmationChips(languageCode) });
  }
  return messages;
}

/** Renders the messages; untitled quick replies become the buttons of the text before them, as Rasa shows them. */
function responsesOf(result: FulfillmentResult, languageCode: string): RasaResponseMessage[] {
  const responses: RasaResponseMessage[] = [];
  for (const message of messagesOf(result, languageCode)) {
    const rendered = renderMessage(message);
    const previous = responses.at(-1);
    if (
      message.type === 'quick-replies' &&
      !message.title &&
      previous?.text !== undefined &&
      !previous.buttons &&
      Object.keys(previous).length === 1
    ) {
      previous.buttons = rendered.buttons;
    } else {
      responses.push(rendered);
    }
  }
  if (result.payload) responses.push({ custom: { ...result.payload } });
  if (result.handoff) responses.push({ custom: { handoff: { ...result.handoff } } });
  return responses;
}

/**
 * Renders a result as the action server's `{events, responses}`.
 *
 * Responses: text → `{text}`; quick replies → `{text, buttons: [{title, payload}]}` (the payload is the reply
 * text, which Rasa's NLU then parses; untitled replies attach to the text before them); image → `{image}`
 * (the accessibility text is dropped); card → `{custom: {card}}`; payload message and result payload →
 * `{custom: payload}`; a confirmation adds Yes/No buttons.
 *
 * Events: `SlotSet` for session parameters, context parameters and an elicitation (see `slotEventsOf`:
 * `requested_slot` names the elicited slot, whose value is reset when it was invalid, as a form validation does,
 * with `text` as the prompt); a followup event becomes `FollowupAction(name)` (its parameters have no Rasa
 * equivalent and are dropped). `dropped` names the values no declared slot takes.
 *
 * Degraded features: a hand-off adds a custom response `{custom: {handoff: {reason}}}` for the channel to act
 * on; an end of conversation sends just the text (ending or restarting a session is Rasa's own business, by
 * its rules or `action_restart`); a delegated turn answers no events and no responses, so Rasa goes on with
 * its own dialogue management (a delegated result's session parameters are not set).
 */
export function renderResponse(
  result: FulfillmentResult,
  slots: RasaSlotState,
  names: RasaSlotNames,
  languageCode = 'en',
): { response: RasaActionResponse; dropped: readonly string[] } {
  if (result.delegate) return { response: { events: [], responses: [] }, dropped: [] };
  const { events: slotEvents, dropped } = slotEventsOf(result, slots, names);
  const events: RasaEvent[] = [...slotEvents];
  if (result.followupEvent) events.push({ event: 'followup', name: result.followupEvent.name });
  return { response: { events, responses: responsesOf(result, languageCode) }, dropped };
}

/**
 * A validation action whose check did not happen (the handler failed, ran past the deadline, or a dependency was
 * down: the reply is not the handler's) resets the slots it was asked to validate. Rasa takes a slot the action
 * returns no `SlotSet` for as valid, and the form would go on with a value nobody checked; reset, the form asks for
 * it again. What the result sets itself stands.
 */
function unvalidatedReset(
  result: FulfillmentResult,
  outcome: DispatchOutcome,
  state: RasaSlotState,
): FulfillmentResult {
  if ((outcome !== 'failed' && outcome !== 'timed-out') || !state.validating?.length) return result;
  const reset = state.validating.filter((slot) => !(result.sessionParameters && slot in result.sessionParameters));
  if (reset.length === 0) return result;
  return {
    ...result,
    sessionParameters: { ...Object.fromEntries(reset.map((slot) => [slot, null])), ...result.sessionParameters },
  };
}

const WHAT = 'Rasa action call';

/** The action name, if the body has a usable one (needed before validation, to answer 404 like the SDK). */
function actionNameOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const name = (body as { next_action?: unknown }).next_action;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

function errorReply(status: number, body: RasaErrorBody): RenderedReply {
  return { status, json: JSON.stringify(body) };
}

/**
 * A Rasa action server call, answered the way the Rasa SDK answers: the action runs the intent it maps to
 * (see `RasaActionMap`); an action we do not serve is a 404 and an invalid call a 400, both with the SDK's
 * `{error, action_name}` body, which Rasa's `RemoteAction` understands (it logs the error; on a 400 it lets
 * its policies predict another action).
 */
@WebhookAdapter('rasa')
@Injectable()
export class RasaAdapter implements PlatformAdapter<RasaActionCall, RasaSlotState, RasaActionResponse> {
  readonly platform = 'rasa';
  readonly requestType = RasaActionCall;
  readonly requestName = WHAT;
  private readonly logger = new Logger(RasaAdapter.name);
  private readonly actions: RasaActionMap;
  private readonly slotNames: RasaSlotNames;

  constructor(
    private readonly registry: IntentHandlerRegistry,
    config: AppConfig,
  ) {
    this.actions = new RasaActionMap(config.fulfillment.rasaActions);
    this.slotNames = new RasaSlotNames(config.rasa.slotMap);
  }

  preflight(body: unknown, call: WebhookCall): RenderedReply | undefined {
    const actionName = actionNameOf(body);
    if (actionName === undefined) return undefined;
    const intent = this.actions.intentFor(actionName);
    if (intent !== undefined && this.registry.find(intent)) return undefined;
    this.logger.warn(`No handler for Rasa action "${actionName}" (request ${call.requestId})`);
    return errorReply(404, { error: `No registered action found for name '${actionName}'.`, action_name: actionName });
  }

  rejected(error: AppError, body: unknown, call: WebhookCall): RenderedReply {
    this.logger.warn(`Rejected a Rasa action call (request ${call.requestId}): ${error.message}`);
    const message =
      error.details.length === 0
        ? error.message
        : `${WHAT} is invalid: ${error.details.map((detail) => `${detail.field} ${detail.problem}`).join('; ')}.`;
    const actionName = actionNameOf(body);
    return errorReply(400, { error: message, ...(actionName !== undefined && { action_name: actionName }) });
  }

  toTurn(request: RasaActionCall, call: WebhookCall): AdaptedTurn<RasaSlotState> {
    const intent = this.actions.intentFor(request.next_action) ?? request.next_action;
    return { input: toDispatchInput(request, intent, call.caller), state: slotStateOf(request) };
  }

  render(result: FulfillmentResult, outcome: DispatchOutcome, turn: AdaptedTurn<RasaSlotState>): RasaActionResponse {
    const { response, dropped } = renderResponse(
      unvalidatedReset(result, outcome, turn.state),
      turn.state,
      this.slotNames,
      turn.input.languageCode,
    );
    if (dropped.length > 0) {
      this.logger.warn(
        `Not set as Rasa slots (turn ${turn.input.requestId}), the domain declares no slot for: ${dropped.join(', ')}; ` +
          'declare them or map them to declared slots with RASA_SLOT_MAP',
      );
    }
    return response;
  }

  /** Rasa sets no size limit of its own; a response must still serialise. */
  check(response: RasaActionResponse): CheckedResponse {
    try {
      return { json: JSON.stringify(response), problems: [] };
    } catch (error: unknown) {
      return {
        json: '',
        problems: [`response is not serialisable to JSON (${error instanceof Error ? error.message : String(error)})`],
      };
    }
  }

  /** `GET /actions`: every action name that reaches a registered intent, as the SDK lists its actions. */
  actionList(): string {
    return JSON.stringify(this.actions.actionNames(this.registry.intents()).map((name) => ({ name })));
  }
}
