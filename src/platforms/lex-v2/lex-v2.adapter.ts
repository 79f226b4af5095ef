import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type {
  ConfirmationState,
  ConversationContext,
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
  isLexContextName,
  LEX_V2_MAX_ACTIVE_CONTEXTS,
  LexV2Event,
  type LexV2Slot,
  type LexV2Slots,
} from './lex-v2.request';
import {
  LEX_V2_LIMITS,
  LexV2Message,
  LexV2Response,
  LexV2ResponseContext,
  type LexV2ElicitSubSlot,
  LexV2ResponseIntent,
} from './lex-v2.response';
import type { Caller } from '../../common/caller';
import { splitMessage } from './lex-v2.message-split';
import { echoedSlots } from './lex-v2.echoed-slots';
import {
  decodeAttributes,
  encodeAttribute,
  heldKeys,
  JSON_ATTRIBUTES,
  jsonAttributesValue,
  type JsonAttributeKeys,
  readJsonAttributeKeys,
} from './lex-v2.json-attributes';

/** Lex has no hand-off of its own: the hand-off is left in this session attribute for the channel to act on. */
export const HANDOFF_ATTRIBUTE = 'handoff';
const DEFAULT_CONTEXT_SECONDS = 600;
/** The slots a rejected ElicitSlot names in its log line, at most. */
const MAX_SLOTS_NAMED = 10;

/**
 * Handlers name contexts for every platform (`account-info`, `step 2`): what Lex's runtime pattern lacks (a hyphen,
 * a dot, a space) becomes an underscore (`account_info`, `step_2`). A context Lex sent keeps its own name.
 */
export function lexContextName(name: string): string {
  return name.replace(/[-. ]+/g, '_');
}

/**
 * A context's attributes as Lex takes them (ActiveContext.contextAttributes): strings of 1 to 1024 characters, at
 * most 10, keys of 1 to 100 characters. A value Lex would refuse (empty, null, too long) is left out rather than
 * have Lex fail the whole turn; so are entries past the tenth. `json`: the keys of those sent as JSON.
 */
function contextAttributes(parameters: Readonly<Record<string, unknown>>): {
  attributes: Record<string, string>;
  json: Set<string>;
} {
  const attributes: Record<string, string> = {};
  const json = new Set<string>();
  for (const [key, value] of Object.entries(parameters)) {
    if (Object.keys(attributes).length >= LEX_V2_LIMITS.contextAttributes) break;
    if (value === null || value === undefined || key.length === 0 || key.length > LEX_V2_LIMITS.attributeKeyChars) {
      continue;
    }
    const encoded = encodeAttribute(value);
    if (encoded.text.length < 1 || encoded.text.length > LEX_V2_LIMITS.attributeValueChars) continue;
    attributes[key] = encoded.text;
    if (encoded.json) json.add(key);
  }
  return { attributes, json };
}

/** SSML: a `<speak>` root, with or without attributes (`<speak xml:lang="de-DE">`). */
const SSML = /^\s*<speak[\s>]/;

const CONFIRMATION: Record<string, ConfirmationState> = { Confirmed: 'confirmed', Denied: 'denied', None: 'none' };

/** Joins a composite slot's name and a sub-slot's into one parameter name (Lex slot names have no dots). */
export const SUB_SLOT_SEPARATOR = '.';

function isList(slot: LexV2Slot): boolean {
  return slot.shape === 'List' || (slot.shape === undefined && Array.isArray(slot.values));
}

function isComposite(slot: LexV2Slot): boolean {
  return slot.shape === 'Composite' || (slot.shape === undefined && slot.subSlots !== undefined);
}

/**
 * The slots as parameters: a scalar slot by its name (the interpreted value), a List slot as an array of its
 * values, and each sub-slot of a Composite slot as `slot.subSlot` (recursively), so a handler asks for and reads
 * a sub-slot like any other parameter. A composite slot's own value, when Lex sends one, stays under its name.
 */
export function slotParameters(
  slots: Readonly<Record<string, LexV2Slot | null>>,
  prefix = '',
): Record<string, unknown> {
  const parameters: Record<string, unknown> = {};
  for (const [name, slot] of Object.entries(slots)) {
    if (slot === null) continue;
    const key = prefix + name;
    if (isComposite(slot)) Object.assign(parameters, slotParameters(slot.subSlots ?? {}, key + SUB_SLOT_SEPARATOR));
    const value = isList(slot)
      ? (slot.values ?? []).map((item) => item.value?.interpretedValue).filter((item) => typeof item === 'string')
      : (slot.value?.interpretedValue ?? undefined);
    if (value !== undefined) parameters[key] = value;
  }
  return parameters;
}

/** Lex's native inputs a handler may act on: the slot hints and what Lex would do next. */
function platformDetails(event: LexV2Event): Record<string, unknown> | undefined {
  const details: Record<string, unknown> = {};
  if (event.sessionState.runtimeHints) details.runtimeHints = event.sessionState.runtimeHints;
  if (event.proposedNextState) details.proposedNextState = event.proposedNextState;
  return Object.keys(details).length > 0 ? details : undefined;
}

/** A stable id for the turn when Lex does not send `originatingRequestId`: the session plus a hash of the event. */
export function eventRequestId(body: LexV2Event): string {
  const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);
  return `${body.sessionId}:${hash}`;
}

/**
 * Maps a validated Lex V2 event to the platform-neutral model. Session and context attributes the adapter sent as
 * JSON (listed in JSON_ATTRIBUTES, which handlers do not see) come back as the values the handler gave.
 */
export function toDispatchInput(body: LexV2Event, caller: Caller): DispatchInput {
  const state = body.sessionState;
  const json = readJsonAttributeKeys(state.sessionAttributes);
  const contexts: ConversationContext[] = (state.activeContexts ?? []).map((context) => ({
    name: context.name,
    lifespan: context.timeToLive?.turnsToLive,
    parameters: decodeAttributes(context.contextAttributes, json.contexts.get(context.name)),
  }));
  const sessionParameters = decodeAttributes(state.sessionAttributes, json.session);
  delete sessionParameters[JSON_ATTRIBUTES];
  const stage: FulfillmentStage = body.invocationSource === 'DialogCodeHook' ? 'dialog' : 'fulfillment';
  const requestId = state.originatingRequestId || eventRequestId(body);
  const details = platformDetails(body);
  return {
    platform: 'lex-v2',
    requestId,
    // Lex calls a dialog and a fulfillment code hook for one request, and request ids are per session; dialog
    // steps with a label of their own (conditional branching) can each call the dialog code hook in one request.
    turnKey: `${body.sessionId}\n${requestId}\n${stage}${body.invocationLabel ? `\n${body.invocationLabel}` : ''}`,
    sessionId: body.sessionId,
    intent: state.intent.name,
    parameters: slotParameters(state.intent.slots ?? {}),
    contexts,
    sessionParameters,
    stage,
    confirmation: CONFIRMATION[state.intent.confirmationState ?? 'None'] ?? 'none',
    queryText: body.inputTranscript,
    languageCode: body.bot.localeId.replace('_', '-'),
    caller,
    ...(details && { platformDetails: details }),
    raw: body,
  };
}

/**
 * The slot path Lex should ask for: `slot.subSlot` names a composite slot's sub-slot; a bare name that is not a
 * slot of the intent but a sub-slot of exactly one of its composite slots (a handler written for every platform
 * asks for `City`, not `Address.City`) is found there.
 */
export function elicitPath(parameter: string, slots: LexV2Slots): string[] {
  if (parameter.includes(SUB_SLOT_SEPARATOR)) return parameter.split(SUB_SLOT_SEPARATOR);
  if (Object.hasOwn(slots, parameter)) return [parameter];
  const owners = Object.entries(slots).filter(
    ([, slot]) => slot !== null && isComposite(slot) && Object.hasOwn(slot.subSlots ?? {}, parameter),
  );
  return owners.length === 1 ? [owners[0][0], parameter] : [parameter];
}

function subSlotToElicit([name, ...rest]: string[]): LexV2ElicitSubSlot | undefined {
  if (name === undefined) return undefined;
  const next = subSlotToElicit(rest);
  return { name, ...(next && { subSlotToElicit: next }) };
}

/** A copy of the slots with the slot (or sub-slot) at `path` cleared, so Lex asks for it afresh. */
function clearSlot(slots: LexV2Slots, [name, ...rest]: string[]): LexV2Slots {
  if (name === undefined) return slots;
  // A slot the intent does not have is not added (Lex would reject the response for it either way).
  if (rest.length === 0) return Object.hasOwn(slots, name) ? { ...slots, [name]: null } : slots;
  const slot = slots[name];
  if (!slot?.subSlots) return slots;
  return { ...slots, [name]: { ...slot, subSlots: clearSlot(slot.subSlots, rest) } };
}

/**
 * Lex replaces the session attributes with those sent back and keeps them for the session: a hand-off is left in
 * them only by the reply that makes it, or every later reply would have the channel hand off again. Non-strings
 * go as JSON, listed (with the context attributes sent as JSON, `contextJson`) in JSON_ATTRIBUTES, which a handler
 * cannot set itself.
 */
function sessionAttributes(
  result: FulfillmentResult,
  input: Readonly<Record<string, string>>,
  previous: JsonAttributeKeys,
  contextJson: ReadonlyMap<string, ReadonlySet<string>>,
): Record<string, string> {
  const attributes: Record<string, string> = { ...input };
  delete attributes[HANDOFF_ATTRIBUTE];
  delete attributes[JSON_ATTRIBUTES];
  const json = heldKeys(previous.session, attributes);
  for (const [key, value] of Object.entries(result.sessionParameters ?? {})) {
    if (key === JSON_ATTRIBUTES) continue;
    json.delete(key);
    if (value === null || value === undefined) {
      delete attributes[key];
      continue;
    }
    const encoded = encodeAttribute(value);
    attributes[key] = encoded.text;
    if (encoded.json) json.add(key);
  }
  if (result.handoff) attributes[HANDOFF_ATTRIBUTE] = JSON.stringify({ ...result.handoff });
  const listing = jsonAttributesValue({ session: json, contexts: contextJson });
  if (listing !== undefined) attributes[JSON_ATTRIBUTES] = listing;
  return attributes;
}

/**
 * The active contexts to send back: those Lex sent, updated by the handler's context updates (lifespan 0 removes
 * one). Updates whose name Lex would reject (Lex allows only letters and underscores) are left out. `json`: by
 * context, the attributes that went as JSON (carried over from `previous` for a context sent back as Lex sent it).
 */
function activeContexts(
  result: FulfillmentResult,
  event: LexV2Event,
  previous: JsonAttributeKeys,
): { contexts: LexV2ResponseContext[] | undefined; json: Map<string, ReadonlySet<string>> } {
  const contexts = new Map<string, LexV2ResponseContext>();
  const json = new Map<string, ReadonlySet<string>>();
  for (const context of event.sessionState.activeContexts ?? []) {
    const { timeToLiveInSeconds = DEFAULT_CONTEXT_SECONDS, turnsToLive = 1 } = context.timeToLive ?? {};
    // Expired: no longer active, and Lex refuses a context with no time or turns to live.
    if (timeToLiveInSeconds <= 0 || turnsToLive <= 0) continue;
    json.set(context.name, heldKeys(previous.contexts.get(context.name), context.contextAttributes));
    contexts.set(context.name, {
      name: context.name,
      contextAttributes: { ...context.contextAttributes },
      timeToLive: {
        timeToLiveInSeconds: clamp(timeToLiveInSeconds, LEX_V2_LIMITS.contextMinSeconds, LEX_V2_LIMITS.contextSeconds),
        turnsToLive: clamp(turnsToLive, 1, LEX_V2_LIMITS.contextTurns),
      },
    });
  }
  for (const update of result.contexts ?? []) {
    const name = lexContextName(update.name);
    if (!isLexContextName(name)) continue;
    if (update.lifespan <= 0) {
      contexts.delete(name);
      json.delete(name);
      continue;
    }
    const attributes = contextAttributes(update.parameters ?? {});
    json.set(name, attributes.json);
    contexts.set(name, {
      name,
      contextAttributes: attributes.attributes,
      timeToLive: {
        timeToLiveInSeconds: DEFAULT_CONTEXT_SECONDS,
        turnsToLive: clamp(Math.floor(update.lifespan), 1, LEX_V2_LIMITS.contextTurns),
      },
    });
  }
  if (contexts.size === 0 && event.sessionState.activeContexts === undefined) return { contexts: undefined, json };
  return { contexts: [...contexts.values()], json };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}

/** A text reply as Lex messages: SSML or plain text, split into pieces Lex accepts (1000 characters each). */
function textMessages(text: string): LexV2Message[] {
  const contentType = SSML.test(text) ? 'SSML' : 'PlainText';
  return splitMessage(text, LEX_V2_LIMITS.contentChars).map((content) => ({ contentType, content }));
}

/** `text` within `max` characters: cut (never inside a surrogate pair) and ended with "…" when longer. */
function fit(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = /[\uD800-\uDBFF]/.test(text[max - 2]) ? max - 2 : max - 1;
  return `${text.slice(0, cut)}…`;
}

/**
 * A card button as Lex takes it (text and value of 1 to 50 characters), or undefined when it cannot be one: a
 * label over 50 is shortened for display; a value over 50 (a URL, a long postback) sends the label instead, when
 * the whole label fits. A button whose shortened label would be what it sends ("I'd like to talk to a customer
 * servi…") is left out: tapped, it would send words no slot or utterance matches. One over-long button would
 * otherwise make Lex refuse the whole reply.
 */
function lexButton(text: string, value: string): { text: string; value: string } | undefined {
  const max = LEX_V2_LIMITS.buttonChars;
  if (text.length === 0 || value.length === 0) return undefined;
  if (value.length <= max) return { text: fit(text, max), value };
  return text.length <= max ? { text, value: text } : undefined;
}

function lexButtons(buttons: readonly { text: string; value: string }[]): { text: string; value: string }[] {
  return buttons
    .map(({ text, value }) => lexButton(text, value))
    .filter((button) => button !== undefined)
    .slice(0, LEX_V2_LIMITS.buttons);
}

function renderMessage(message: RichMessage, fallbackTitle: string): LexV2Message | LexV2Message[] {
  const cardText = (text: string) => fit(text, LEX_V2_LIMITS.cardFieldChars);
  switch (message.type) {
    case 'text':
      return textMessages(message.text);
    case 'quick-replies': {
      const buttons = lexButtons(message.replies.map((reply) => ({ text: reply, value: reply })));
      // None fits a button: the replies are said, one per line, for the user to say or type.
      if (buttons.length === 0) return textMessages(message.replies.filter(Boolean).join('\n'));
      return {
        contentType: 'ImageResponseCard',
        imageResponseCard: { title: cardText(message.title || fallbackTitle), buttons },
      };
    }
    case 'card':
      return {
        contentType: 'ImageResponseCard',
        imageResponseCard: {
          title: cardText(message.title),
          ...(message.subtitle && { subtitle: cardText(message.subtitle) }),
          // An image address cut short is no address: a card without its image rather than no reply.
          ...(message.imageUrl &&
            message.imageUrl.length <= LEX_V2_LIMITS.cardFieldChars && { imageUrl: message.imageUrl }),
          ...(message.buttons && {
            buttons: lexButtons(
              message.buttons.map((button) => ({ text: button.text, value: button.postback ?? button.text })),
            ),
          }),
        },
      };
    case 'image':
      return {
        contentType: 'CustomPayload',
        content: JSON.stringify({
          image: {
            imageUrl: message.imageUrl,
            ...(message.accessibilityText && { accessibilityText: message.accessibilityText }),
          },
        }),
      };
    case 'payload':
      return { contentType: 'CustomPayload', content: JSON.stringify(message.payload) };
  }
}

/**
 * Joins runs of plain-text messages, as long as each stays within Lex's 1000 characters, so that an answer of
 * many short messages stays within Lex's message count.
 */
function compact(messages: LexV2Message[]): LexV2Message[] {
  if (messages.length <= LEX_V2_LIMITS.messages) return messages;
  const joined: LexV2Message[] = [];
  for (const message of messages) {
    const last = joined.at(-1);
    const content = `${last?.content ?? ''}\n${message.content ?? ''}`;
    if (
      last?.contentType === 'PlainText' &&
      message.contentType === 'PlainText' &&
      content.length <= LEX_V2_LIMITS.contentChars
    ) {
      last.content = content;
    } else {
      joined.push({ ...message });
    }
  }
  return joined;
}

function renderMessages(result: FulfillmentResult): LexV2Message[] {
  const source: readonly RichMessage[] = result.messages ?? (result.text ? [{ type: 'text', text: result.text }] : []);
  // A card title is required; a quick-reply set without one is titled with the main reply.
  const title = fit(result.text, LEX_V2_LIMITS.cardFieldChars) || 'Please choose';
  const messages = source.flatMap((message) => renderMessage(message, title));
  // Lex has no response-level payload: it goes out as one more custom payload message.
  if (result.payload) messages.push({ contentType: 'CustomPayload', content: JSON.stringify(result.payload) });
  return compact(messages);
}

/**
 * Renders a result as the Lex V2 Lambda response:
 * - `failed` → Close, intent Failed;
 * - `pending` (a fulfillment still running at the deadline: the interim reply) → ElicitIntent with the interim
 *   message and no intent: nothing is known to have succeeded or failed, so neither the success nor the failure
 *   branch runs, and the conversation stays open for the user's "any news?" (PendingFulfillment);
 * - `delegate` → Delegate without messages (Lex goes on with its own prompts);
 * - `elicit` → ElicitSlot (intent InProgress, confirmation None), the slot cleared when the value given was invalid;
 * - `confirm` → ConfirmIntent (Lex requires messages with it, so the text is the question);
 * - `handoff` / `endConversation` → Close, intent Fulfilled; Lex has no hand-off, so it is left as the JSON
 *   session attribute `handoff` of that reply only, for the channel (e.g. an Amazon Connect flow) to route on;
 * - otherwise, at fulfillment → Close, intent Fulfilled; at a dialog code hook → Delegate with the messages
 *   (Lex plays them and carries on; messages are optional with Delegate, and without them Lex uses its own).
 * Session attributes are strings in Lex: non-strings are sent as JSON (listed in JSON_ATTRIBUTES, so that the next
 * turn decodes them) and `null` removes one.
 * The intent's slots go back as Lex sent them (see `echoedSlots`), except with `echoSlots: false` (a turn that
 * failed): a Failed intent ends, and its reply must reach Lex whatever the request's slots held.
 */
export function renderResponse(
  result: FulfillmentResult,
  event: LexV2Event,
  stage: FulfillmentStage,
  { echoSlots = true, pending = false }: { echoSlots?: boolean; pending?: boolean } = {},
): LexV2Response {
  const input = event.sessionState.intent;
  let slots: LexV2Slots = echoSlots ? echoedSlots(input.slots ?? {}) : {};
  const intent = (state: LexV2ResponseIntent['state']): LexV2ResponseIntent => ({
    name: input.name,
    ...(echoSlots && { slots }),
    state,
    confirmationState: input.confirmationState ?? 'None',
  });

  let dialogAction: LexV2Response['sessionState']['dialogAction'];
  let responseIntent: LexV2ResponseIntent | undefined;
  let withMessages = true;
  if (result.failed) {
    dialogAction = { type: 'Close' };
    responseIntent = intent('Failed');
  } else if (pending && stage === 'fulfillment') {
    // As AWS documents ElicitIntent: messages and no intent (Lex recognises the user's next utterance afresh).
    dialogAction = { type: 'ElicitIntent' };
    responseIntent = undefined;
  } else if (result.delegate) {
    dialogAction = { type: 'Delegate' };
    responseIntent = intent(input.state ?? 'InProgress');
    withMessages = false;
  } else if (result.elicit) {
    const [slot = result.elicit.parameter, ...subSlots] = elicitPath(result.elicit.parameter, slots);
    if (result.elicit.invalid) slots = clearSlot(slots, [slot, ...subSlots]);
    const subSlot = subSlotToElicit(subSlots);
    dialogAction = { type: 'ElicitSlot', slotToElicit: slot, ...(subSlot && { subSlotToElicit: subSlot }) };
    // A slot asked for again has a new value coming: a confirmation given for the old one no longer holds (Lex
    // would carry "Confirmed" over, and the next turn act without asking).
    responseIntent = { ...intent('InProgress'), confirmationState: 'None' };
  } else if (result.confirm) {
    dialogAction = { type: 'ConfirmIntent' };
    responseIntent = { ...intent('InProgress'), confirmationState: 'None' };
  } else if (result.handoff || result.endConversation || stage === 'fulfillment') {
    dialogAction = { type: 'Close' };
    responseIntent = intent('Fulfilled');
  } else {
    dialogAction = { type: 'Delegate' };
    responseIntent = intent(input.state ?? 'InProgress');
  }

  const previousJson = readJsonAttributeKeys(event.sessionState.sessionAttributes);
  const contexts = activeContexts(result, event, previousJson);
  const response: LexV2Response = {
    sessionState: {
      sessionAttributes: sessionAttributes(
        result,
        event.sessionState.sessionAttributes ?? {},
        previousJson,
        contexts.json,
      ),
      dialogAction,
      ...(responseIntent && { intent: responseIntent }),
    },
  };
  if (contexts.contexts) response.sessionState.activeContexts = contexts.contexts;
  const messages = withMessages ? renderMessages(result) : [];
  if (messages.length > 0) response.messages = messages;
  if (event.requestAttributes) response.requestAttributes = { ...event.requestAttributes };
  return response;
}

function length(text: string | undefined): number {
  return text?.length ?? 0;
}

function messageProblems(message: LexV2Message, index: number): string[] {
  const problems: string[] = [];
  const where = `message ${index + 1}`;
  if (message.contentType === 'ImageResponseCard') {
    const card = message.imageResponseCard;
    if (!card) return [`${where} is a card without imageResponseCard`];
    for (const field of ['title', 'subtitle', 'imageUrl'] as const) {
      const value = card[field];
      if (
        (field === 'title' || value !== undefined) &&
        (length(value) < 1 || length(value) > LEX_V2_LIMITS.cardFieldChars)
      ) {
        problems.push(`${where} has a card ${field} outside 1-${LEX_V2_LIMITS.cardFieldChars} characters`);
      }
    }
    if ((card.buttons?.length ?? 0) > LEX_V2_LIMITS.buttons) {
      problems.push(`${where} has more than ${LEX_V2_LIMITS.buttons} buttons`);
    }
    card.buttons?.forEach((button, b) => {
      for (const field of ['text', 'value'] as const) {
        if (length(button[field]) < 1 || length(button[field]) > LEX_V2_LIMITS.buttonChars) {
          problems.push(`${where} button ${b + 1} ${field} is outside 1-${LEX_V2_LIMITS.buttonChars} characters`);
        }
      }
    });
    return problems;
  }
  if (length(message.content) < 1 || length(message.content) > LEX_V2_LIMITS.contentChars) {
    problems.push(`${where} content is outside 1-${LEX_V2_LIMITS.contentChars} characters`);
  }
  return problems;
}

/**
 * An ElicitSlot must name a slot of the intent. Lex lists every slot of the intent in the event, unfilled ones as
 * null, and rejects a response asking for another (a handler's parameter name the bot does not use), failing the turn
 * with its own message. Checked when the slots sent back include an unfilled one, the mark of a complete list (a
 * request built by hand, such as the simulator's, names only the slots it fills).
 */
function elicitProblems(response: LexV2Response): string[] {
  const { slotToElicit } = response.sessionState.dialogAction;
  if (!slotToElicit) return ['ElicitSlot needs slotToElicit'];
  const { name = '', slots = {} } = response.sessionState.intent ?? {};
  const listsAll = Object.values(slots).some((slot) => slot === null);
  if (!listsAll || Object.hasOwn(slots, slotToElicit)) return [];
  const known = Object.keys(slots);
  const listed = known.slice(0, MAX_SLOTS_NAMED).join(', ') + (known.length > MAX_SLOTS_NAMED ? ', …' : '');
  return [`ElicitSlot asks for slot "${slotToElicit}", which intent "${name}" does not have (its slots: ${listed})`];
}

/**
 * Checks a rendered response against what Lex accepts, returning the problems and the serialised body (so it
 * is serialised once). Lex answers the user with its own failure message when a Lambda response is invalid.
 */
export function checkResponse(response: LexV2Response): { problems: string[]; json: string } {
  const problems: string[] = [];
  const { dialogAction, sessionAttributes } = response.sessionState;
  const messages = response.messages ?? [];
  if (dialogAction.type === 'ElicitSlot') problems.push(...elicitProblems(response));
  if ((dialogAction.type === 'ConfirmIntent' || dialogAction.type === 'ElicitIntent') && messages.length === 0) {
    problems.push(`${dialogAction.type} needs messages`);
  }
  if (messages.length > LEX_V2_LIMITS.messages) {
    problems.push(`response has ${messages.length} messages, over Lex's ${LEX_V2_LIMITS.messages}`);
  }
  messages.forEach((message, index) => problems.push(...messageProblems(message, index)));
  const activeContexts = response.sessionState.activeContexts ?? [];
  if (activeContexts.length > LEX_V2_MAX_ACTIVE_CONTEXTS) {
    problems.push(`response has ${activeContexts.length} active contexts, over Lex's ${LEX_V2_MAX_ACTIVE_CONTEXTS}`);
  }
  for (const context of activeContexts) {
    if (!isLexContextName(context.name)) {
      problems.push(`active context "${context.name}" has an invalid name`);
    }
  }
  if (Object.values(sessionAttributes).some((value) => typeof value !== 'string')) {
    problems.push('session attributes must be strings');
  }

  let json = '';
  try {
    json = JSON.stringify(response);
  } catch {
    problems.push('response is not serialisable to JSON');
    return { problems, json };
  }
  const attributeBytes = Buffer.byteLength(
    JSON.stringify(sessionAttributes) + JSON.stringify(response.requestAttributes ?? {}),
    'utf8',
  );
  if (attributeBytes > LEX_V2_LIMITS.attributesBytes) {
    problems.push(`attributes are ${attributeBytes} bytes, over Lex's ${LEX_V2_LIMITS.attributesBytes}-byte limit`);
  }
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > LEX_V2_LIMITS.responseBytes) {
    problems.push(`response is ${bytes} bytes, over Lex's ${LEX_V2_LIMITS.responseBytes}-byte limit`);
  }
  return { problems, json };
}

/** Amazon Lex V2 (through the forwarding Lambda): a code hook event, answered with the Lambda response. */
@WebhookAdapter('lex-v2')
@Injectable()
export class LexV2Adapter implements PlatformAdapter<LexV2Event, LexV2Event, LexV2Response> {
  readonly platform = 'lex-v2';
  readonly requestType = LexV2Event;
  readonly requestName = 'Lex V2 event';

  toTurn(event: LexV2Event, call: WebhookCall): AdaptedTurn<LexV2Event> {
    return { input: toDispatchInput(event, call.caller), state: event };
  }

  render(result: FulfillmentResult, outcome: DispatchOutcome, turn: AdaptedTurn<LexV2Event>): LexV2Response {
    // No handler for the intent at a dialog code hook means nothing to validate: let Lex carry on. At fulfillment
    // it means the intent was not fulfilled: Failed, so the bot takes its failure branch (and its analytics count
    // no success).
    const answer: FulfillmentResult =
      outcome !== 'fallback'
        ? result
        : turn.input.stage === 'dialog'
          ? { text: '', delegate: true }
          : { ...result, failed: true };
    // Past the deadline the work goes on: not Fulfilled (Lex would take the success branch for a result nobody has
    // seen yet). At a dialog code hook the interim reply delegates like any other (Lex carries on collecting slots).
    return renderResponse(answer, turn.state, turn.input.stage, {
      echoSlots: outcome !== 'failed',
      pending: outcome === 'timed-out',
    });
  }

  check(response: LexV2Response): CheckedResponse {
    return checkResponse(response);
  }
}
