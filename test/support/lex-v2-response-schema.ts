/**
 * An independent check of an Amazon Lex V2 Lambda response (the service's own checker in src/ is deliberately
 * not used). Sources, Amazon Lex V2 Developer Guide and API Reference:
 *
 * - "AWS Lambda response format for Lex V2" (lambda-response-format): top-level `sessionState` (always
 *   required), `messages`, `requestAttributes`; `messages` is required when `dialogAction.type` is `ElicitIntent`
 *   or `ConfirmIntent`; a message's `content` is used for PlainText, CustomPayload and SSML, `imageResponseCard`
 *   for ImageResponseCard.
 * - "Common structures in an AWS Lambda function for Amazon Lex V2" (lambda-common-structures): Intent
 *   (`confirmationState` Confirmed | Denied | None, `state` Failed | Fulfilled | FulfillmentInProgress |
 *   InProgress | ReadyForFulfillment | Waiting), Slots (`shape` Scalar | List | Composite, `value`, `values`,
 *   `subSlots`), session state (`activeContexts`, `sessionAttributes` string to string, `dialogAction`).
 * - API Reference, runtime data types: DialogAction (`type` Close | ConfirmIntent | Delegate | ElicitIntent |
 *   ElicitSlot, plus `None` which Lex reports but a Lambda function does not return; `slotElicitationStyle`
 *   Default | SpellByLetter | SpellByWord), Message (`content` 1–1024 characters), ImageResponseCard (`title`
 *   1–250 required, `subtitle` and `imageUrl` 1–250, `buttons` 0–5), Button (`text` and `value` 1–50),
 *   ActiveContext (`name` 1–100, `^([A-Za-z]_?)+$`; `timeToLive.timeToLiveInSeconds` 5–86400, `turnsToLive`
 *   1–20; `contextAttributes` string to string), Intent (`name` at least 1 character).
 * - Quotas: the Lambda output may be at most 25 KB, of which at most 12 KB session attributes (stated in the
 *   Lex V1 guide's "Quotas"; the V2 service applies the same Lambda limits).
 *
 * The guide documents no limit on the number of messages, so none is checked here.
 * `ElicitSlot` needs `slotToElicit` (the API Reference: "the name of the slot that should be elicited"), and every
 * dialog action but `ElicitIntent` acts on an intent, so `sessionState.intent` is required with it (our reading of
 * the guide's dialogAction descriptions).
 * Fields are checked against the documented names: an undocumented field is reported, since Lex rejects a
 * Lambda response it cannot parse ("Invalid Lambda Response").
 */

type Json = unknown;

const DIALOG_ACTION_TYPES = ['Close', 'ConfirmIntent', 'Delegate', 'ElicitIntent', 'ElicitSlot'];
const INTENT_STATES = ['Failed', 'Fulfilled', 'FulfillmentInProgress', 'InProgress', 'ReadyForFulfillment', 'Waiting'];
const CONFIRMATION_STATES = ['Confirmed', 'Denied', 'None'];
const CONTENT_TYPES = ['CustomPayload', 'ImageResponseCard', 'PlainText', 'SSML'];
const SHAPES = ['Scalar', 'List', 'Composite'];
const ELICITATION_STYLES = ['Default', 'SpellByLetter', 'SpellByWord'];
const CONTEXT_NAME = /^([A-Za-z]_?)+$/;
const KB = 1024;

const isObject = (value: Json): value is Record<string, Json> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

class LexChecker {
  readonly errors: string[] = [];

  fail(path: string, message: string): void {
    this.errors.push(`${path}: ${message}`);
  }

  object(value: Json, path: string, allowed: readonly string[]): value is Record<string, Json> {
    if (!isObject(value)) {
      this.fail(path, 'expected an object');
      return false;
    }
    for (const key of Object.keys(value))
      if (!allowed.includes(key)) this.fail(`${path}.${key}`, 'not a documented field');
    return true;
  }

  string(value: Json, path: string, min = 0, max = Infinity): void {
    if (typeof value !== 'string') return this.fail(path, `expected a string, got ${JSON.stringify(value)}`);
    if (value.length < min || value.length > max) this.fail(path, `length ${value.length} is outside ${min}–${max}`);
  }

  oneOf(value: Json, path: string, allowed: readonly string[]): void {
    if (typeof value !== 'string' || !allowed.includes(value))
      this.fail(path, `${JSON.stringify(value)} is not one of ${allowed.join(' | ')}`);
  }

  integer(value: Json, path: string, min: number, max: number): void {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(path, `expected an integer ${min}–${max}, got ${JSON.stringify(value)}`);
    }
  }

  stringMap(value: Json, path: string): void {
    if (!isObject(value)) return this.fail(path, 'expected an object of strings');
    for (const [key, item] of Object.entries(value))
      if (typeof item !== 'string') this.fail(`${path}.${key}`, 'attribute values must be strings');
  }

  slot(value: Json, path: string): void {
    if (value === null) return; // an unfilled slot
    if (!this.object(value, path, ['shape', 'value', 'values', 'subSlots'])) return;
    if (value.shape !== undefined) this.oneOf(value.shape, `${path}.shape`, SHAPES);
    if (
      value.value !== undefined &&
      this.object(value.value, `${path}.value`, ['originalValue', 'interpretedValue', 'resolvedValues'])
    ) {
      const v = value.value;
      this.string(v.interpretedValue, `${path}.value.interpretedValue`);
      if (v.originalValue !== undefined) this.string(v.originalValue, `${path}.value.originalValue`);
      if (v.resolvedValues !== undefined) {
        if (!Array.isArray(v.resolvedValues)) this.fail(`${path}.value.resolvedValues`, 'expected an array of strings');
        else v.resolvedValues.forEach((r: Json, i) => this.string(r, `${path}.value.resolvedValues[${i}]`));
      }
    }
    if (value.values !== undefined) {
      if (!Array.isArray(value.values)) this.fail(`${path}.values`, 'expected an array of slots');
      else value.values.forEach((item: Json, i) => this.slot(item, `${path}.values[${i}]`));
    }
    if (value.subSlots !== undefined) {
      if (!isObject(value.subSlots)) this.fail(`${path}.subSlots`, 'expected an object of slots');
      else for (const [name, item] of Object.entries(value.subSlots)) this.slot(item, `${path}.subSlots.${name}`);
    }
    if (value.shape === 'List' && value.values === undefined)
      this.fail(path, 'a List slot carries its values in `values`');
    if (value.shape === 'Composite' && value.subSlots === undefined)
      this.fail(path, 'a Composite slot carries `subSlots`');
  }

  intent(value: Json, path: string): void {
    if (!this.object(value, path, ['name', 'slots', 'state', 'confirmationState', 'kendraResponse'])) return;
    this.string(value.name, `${path}.name`, 1);
    if (value.state !== undefined) this.oneOf(value.state, `${path}.state`, INTENT_STATES);
    if (value.confirmationState !== undefined)
      this.oneOf(value.confirmationState, `${path}.confirmationState`, CONFIRMATION_STATES);
    if (value.slots !== undefined && value.slots !== null) {
      if (!isObject(value.slots)) this.fail(`${path}.slots`, 'expected an object of slots');
      else for (const [name, slot] of Object.entries(value.slots)) this.slot(slot, `${path}.slots.${name}`);
    }
  }

  dialogAction(value: Json, path: string): void {
    if (!this.object(value, path, ['type', 'slotToElicit', 'slotElicitationStyle', 'subSlotToElicit'])) return;
    this.oneOf(value.type, `${path}.type`, DIALOG_ACTION_TYPES);
    if (value.type === 'ElicitSlot') this.string(value.slotToElicit, `${path}.slotToElicit`, 1);
    else if (value.slotToElicit !== undefined) this.string(value.slotToElicit, `${path}.slotToElicit`, 1);
    if (value.slotElicitationStyle !== undefined)
      this.oneOf(value.slotElicitationStyle, `${path}.slotElicitationStyle`, ELICITATION_STYLES);
  }

  activeContext(value: Json, path: string): void {
    if (!this.object(value, path, ['name', 'contextAttributes', 'timeToLive'])) return;
    this.string(value.name, `${path}.name`, 1, 100);
    if (typeof value.name === 'string' && !CONTEXT_NAME.test(value.name))
      this.fail(`${path}.name`, `must match ${CONTEXT_NAME}`);
    this.stringMap(value.contextAttributes, `${path}.contextAttributes`);
    if (this.object(value.timeToLive, `${path}.timeToLive`, ['timeToLiveInSeconds', 'turnsToLive'])) {
      this.integer(value.timeToLive.timeToLiveInSeconds, `${path}.timeToLive.timeToLiveInSeconds`, 5, 86_400);
      this.integer(value.timeToLive.turnsToLive, `${path}.timeToLive.turnsToLive`, 1, 20);
    }
  }

  message(value: Json, path: string): void {
    if (!this.object(value, path, ['contentType', 'content', 'imageResponseCard'])) return;
    this.oneOf(value.contentType, `${path}.contentType`, CONTENT_TYPES);
    if (value.contentType === 'ImageResponseCard') {
      const card = value.imageResponseCard;
      if (!this.object(card, `${path}.imageResponseCard`, ['title', 'subtitle', 'imageUrl', 'buttons'])) return;
      this.string(card.title, `${path}.imageResponseCard.title`, 1, 250);
      if (card.subtitle !== undefined) this.string(card.subtitle, `${path}.imageResponseCard.subtitle`, 1, 250);
      if (card.imageUrl !== undefined) this.string(card.imageUrl, `${path}.imageResponseCard.imageUrl`, 1, 250);
      if (card.buttons !== undefined) {
        if (!Array.isArray(card.buttons) || card.buttons.length > 5)
          this.fail(`${path}.imageResponseCard.buttons`, 'expected 0–5 buttons');
        else
          card.buttons.forEach((button: Json, i) => {
            const at = `${path}.imageResponseCard.buttons[${i}]`;
            if (!this.object(button, at, ['text', 'value'])) return;
            this.string(button.text, `${at}.text`, 1, 50);
            this.string(button.value, `${at}.value`, 1, 50);
          });
      }
    } else {
      this.string(value.content, `${path}.content`, 1, 1024);
    }
  }
}

/** The ways `json` (and its serialised form `raw`) departs from the documented Lex V2 Lambda response. */
export function lexV2ResponseErrors(json: Json, raw: string = JSON.stringify(json)): string[] {
  const c = new LexChecker();
  if (Buffer.byteLength(raw) > 25 * KB) c.fail('response', `${Buffer.byteLength(raw)} bytes exceeds 25 KB`);
  if (!c.object(json, 'response', ['sessionState', 'messages', 'requestAttributes'])) return c.errors;
  const state = json.sessionState;
  if (
    c.object(state, 'sessionState', [
      'activeContexts',
      'sessionAttributes',
      'runtimeHints',
      'dialogAction',
      'intent',
      'originatingRequestId',
    ])
  ) {
    c.dialogAction(state.dialogAction, 'sessionState.dialogAction');
    const type = isObject(state.dialogAction) ? state.dialogAction.type : undefined;
    if (state.intent !== undefined) c.intent(state.intent, 'sessionState.intent');
    else if (type !== 'ElicitIntent') c.fail('sessionState.intent', `required with dialogAction.type ${String(type)}`);
    if (state.sessionAttributes !== undefined) {
      c.stringMap(state.sessionAttributes, 'sessionState.sessionAttributes');
      const bytes = Buffer.byteLength(JSON.stringify(state.sessionAttributes));
      if (bytes > 12 * KB) c.fail('sessionState.sessionAttributes', `${bytes} bytes exceeds 12 KB`);
    }
    if (state.activeContexts !== undefined) {
      if (!Array.isArray(state.activeContexts)) c.fail('sessionState.activeContexts', 'expected an array');
      else state.activeContexts.forEach((ctx: Json, i) => c.activeContext(ctx, `sessionState.activeContexts[${i}]`));
    }
    if (type === 'ElicitIntent' || type === 'ConfirmIntent') {
      if (!Array.isArray(json.messages) || json.messages.length === 0)
        c.fail('messages', `required with dialogAction.type ${type}`);
    }
  }
  if (json.messages !== undefined) {
    if (!Array.isArray(json.messages)) c.fail('messages', 'expected an array');
    else json.messages.forEach((m: Json, i) => c.message(m, `messages[${i}]`));
  }
  if (json.requestAttributes !== undefined) c.stringMap(json.requestAttributes, 'requestAttributes');
  return c.errors;
}
