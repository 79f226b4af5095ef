import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsDefined,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Min,
  ValidateBy,
  ValidateNested,
  ValidationOptions,
} from 'class-validator';
import { MaxChars } from '../../common/validation/max-chars';
import { SESSION_ID_MAX_LENGTH } from '../../common/limits';
import { ID_MAX_LENGTH, NAME_MAX_LENGTH } from '../../common/validation/bounds';
import { boundedObjectProblem, IsBoundedObject } from '../../common/validation/bounded-object';

/** Lex keeps at most 20 active contexts, each named in 1 to 100 characters (Lex V2 API: SessionState, ActiveContext). */
export const LEX_V2_MAX_ACTIVE_CONTEXTS = 20;
export const LEX_V2_CONTEXT_NAME_MAX_LENGTH = 100;
/**
 * Letters and digits, each followed by at most one underscore or hyphen: a bot's contexts are named so (Lex V2 API:
 * InputContext, OutputContext), and Lex sends them back active under those names ("order-fulfilled" in its own
 * example). The runtime's ActiveContext says `^([A-Za-z0-9]_?)+$`, the V1 rule said letters only.
 */
export const LEX_V2_CONTEXT_NAME = /^(?:[0-9A-Za-z][_-]?)+$/;

/** A context name Lex takes, at most 100 characters. */
export function isLexContextName(name: string): boolean {
  return name.length <= LEX_V2_CONTEXT_NAME_MAX_LENGTH && LEX_V2_CONTEXT_NAME.test(name);
}
/** Lex takes at most 1,024 characters of text input (RecognizeText); four times that leaves room for transcripts. */
export const LEX_V2_TRANSCRIPT_MAX_LENGTH = 4096;

export const LEX_V2_INVOCATION_SOURCES = ['DialogCodeHook', 'FulfillmentCodeHook'] as const;
export type LexV2InvocationSource = (typeof LEX_V2_INVOCATION_SOURCES)[number];
export const LEX_V2_DIALOG_ACTION_TYPES = [
  'Close',
  'ConfirmIntent',
  'Delegate',
  'ElicitIntent',
  'ElicitSlot',
  'None',
] as const;
export type LexV2DialogActionType = (typeof LEX_V2_DIALOG_ACTION_TYPES)[number];
export const LEX_V2_INTENT_STATES = [
  'Failed',
  'Fulfilled',
  'FulfillmentInProgress',
  'InProgress',
  'ReadyForFulfillment',
  'Waiting',
] as const;
export type LexV2IntentState = (typeof LEX_V2_INTENT_STATES)[number];
export const LEX_V2_CONFIRMATION_STATES = ['Confirmed', 'Denied', 'None'] as const;
export type LexV2ConfirmationState = (typeof LEX_V2_CONFIRMATION_STATES)[number];

/** A Lex locale id such as `en_US`, `de_DE` or `es_419`. */
export const LEX_V2_LOCALE_PATTERN = /^[a-z]{2,3}_(?:[A-Z]{2}|\d{3})$/;

/** One slot as Lex sends it; `values` for a List slot, `subSlots` for a Composite slot. */
export interface LexV2Slot {
  shape?: 'Scalar' | 'List' | 'Composite';
  value?: { originalValue?: string; interpretedValue?: string; resolvedValues?: string[] };
  values?: LexV2Slot[];
  subSlots?: Record<string, LexV2Slot | null>;
}

export type LexV2Slots = Record<string, LexV2Slot | null>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Where a slot value departs from the documented shape, or undefined when it is fine. */
function slotProblem(slot: unknown, path: string): string | undefined {
  if (slot === null) return undefined;
  if (!isPlainObject(slot)) return `${path} must be null or an object`;
  if (slot.shape !== undefined && !['Scalar', 'List', 'Composite'].includes(slot.shape as string)) {
    return `${path}.shape must be Scalar, List or Composite`;
  }
  if (slot.value !== undefined) {
    if (!isPlainObject(slot.value)) return `${path}.value must be an object`;
    // Only the interpreted value is read; `originalValue` and `resolvedValues` go back to Lex as they came.
    const interpreted = slot.value.interpretedValue;
    if (interpreted !== undefined && interpreted !== null && typeof interpreted !== 'string') {
      return `${path}.value.interpretedValue must be a string`;
    }
  }
  if (slot.values !== undefined) {
    if (!Array.isArray(slot.values)) return `${path}.values must be an array`;
    for (const [index, item] of slot.values.entries()) {
      const problem =
        item === null ? `${path}.values[${index}] must be an object` : slotProblem(item, `${path}.values[${index}]`);
      if (problem) return problem;
    }
  }
  if (slot.subSlots !== undefined) {
    if (!isPlainObject(slot.subSlots)) return `${path}.subSlots must be an object`;
    for (const [name, sub] of Object.entries(slot.subSlots)) {
      const problem = slotProblem(sub, `${path}.subSlots.${name}`);
      if (problem) return problem;
    }
  }
  return undefined;
}

/** Finds the first problem in an intent's `slots` map. */
export function slotsProblem(slots: unknown): string | undefined {
  if (!isPlainObject(slots)) return 'slots must be an object';
  for (const [name, slot] of Object.entries(slots)) {
    const problem = slotProblem(slot, `slot "${name}"`);
    if (problem) return problem;
  }
  return undefined;
}

function IsLexSlots(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isLexSlots',
      validator: {
        validate: (value: unknown) => slotsProblem(value) === undefined,
        defaultMessage: (args) => slotsProblem(args?.value) ?? 'slots are invalid',
      },
    },
    options,
  );
}

/** Lex attribute maps (session, request, context attributes) carry only string values. */
export function IsStringRecord(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStringRecord',
      validator: {
        validate: (value: unknown) =>
          isPlainObject(value) &&
          Object.values(value).every((v) => typeof v === 'string') &&
          boundedObjectProblem(value) === undefined,
        defaultMessage: (args) =>
          `${args?.property ?? 'value'} ${
            isPlainObject(args?.value) && Object.values(args.value as object).every((v) => typeof v === 'string')
              ? (boundedObjectProblem(args?.value) ?? 'is invalid')
              : 'must be an object of string values'
          }`,
      },
    },
    options,
  );
}

/** The bot: only its locale is read (the turn's language); its id, name, alias and version are not. */
export class LexV2Bot {
  @IsString()
  @Matches(LEX_V2_LOCALE_PATTERN, { message: 'localeId must be a Lex locale id such as en_US' })
  localeId!: string;
}

export class LexV2Intent {
  @IsString()
  @IsNotEmpty()
  @MaxChars(NAME_MAX_LENGTH)
  name!: string;

  @IsOptional()
  @IsLexSlots()
  @IsBoundedObject()
  slots?: LexV2Slots;

  @IsOptional()
  @IsIn(LEX_V2_INTENT_STATES)
  state?: LexV2IntentState;

  @IsOptional()
  @IsIn(LEX_V2_CONFIRMATION_STATES)
  confirmationState?: LexV2ConfirmationState;
}

export class LexV2TimeToLive {
  @IsOptional()
  @IsInt()
  @Min(0)
  timeToLiveInSeconds?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  turnsToLive?: number;
}

export class LexV2ActiveContext {
  @IsString()
  @IsNotEmpty()
  @MaxChars(LEX_V2_CONTEXT_NAME_MAX_LENGTH)
  @Matches(LEX_V2_CONTEXT_NAME, {
    message: 'name must hold only letters and digits, each followed by at most one underscore or hyphen',
  })
  name!: string;

  @IsOptional()
  @IsStringRecord()
  contextAttributes?: Record<string, string>;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => LexV2TimeToLive)
  timeToLive?: LexV2TimeToLive;
}

export class LexV2SessionState {
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(LEX_V2_MAX_ACTIVE_CONTEXTS)
  // class-validator recurses into an array inside the array ([[…]]) and passes it: each item must be an object.
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => LexV2ActiveContext)
  activeContexts?: LexV2ActiveContext[];

  @IsOptional()
  @IsStringRecord()
  sessionAttributes?: Record<string, string>;

  /** Passed to handlers as it is (`platformDetails.runtimeHints`). */
  @IsOptional()
  @IsBoundedObject()
  runtimeHints?: Record<string, unknown>;

  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => LexV2Intent)
  intent!: LexV2Intent;

  @IsOptional()
  @IsString()
  @MaxChars(ID_MAX_LENGTH)
  originatingRequestId?: string;
}

/**
 * The documented Amazon Lex V2 Lambda input event. Validated: what the service acts on (the session id, the
 * code hook, the locale, the transcript, the session state's intent, slots, contexts and attributes, the
 * request attributes it echoes, and the objects it passes to handlers). Tolerated, in any shape: the rest, e.g.
 * `messageVersion`, `inputMode`, `interpretations` (whose `nluConfidence` is a number in the current guide and
 * `{ "score": … }` in older events), `transcriptions`, `sessionState.dialogAction`: the Lex guide says a
 * function must not break when fields are added or changed.
 */
export class LexV2Event {
  @IsIn(LEX_V2_INVOCATION_SOURCES)
  invocationSource!: LexV2InvocationSource;

  @IsString()
  @MaxChars(SESSION_ID_MAX_LENGTH)
  @IsNotEmpty()
  sessionId!: string;

  @IsOptional()
  @IsString()
  @MaxChars(LEX_V2_TRANSCRIPT_MAX_LENGTH)
  inputTranscript?: string;

  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => LexV2Bot)
  bot!: LexV2Bot;

  /** The dialog step whose code hook this is, as the bot names it (Lex may call several in one request). */
  @IsOptional()
  @IsString()
  @MaxChars(NAME_MAX_LENGTH)
  invocationLabel?: string;

  /** Lex's next step had the function not answered; passed to handlers (`platformDetails.proposedNextState`). */
  @IsOptional()
  @IsObject()
  proposedNextState?: Record<string, unknown>;

  @IsOptional()
  @IsStringRecord()
  requestAttributes?: Record<string, string>;

  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => LexV2SessionState)
  sessionState!: LexV2SessionState;
}
