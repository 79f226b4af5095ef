import { duplicateKeyOf } from './request-decoding';
import { AppError, ErrorDetail } from '../common/errors/app-error';
import type { DispatchOutcome, RichMessage } from '../fulfillment';
import type { GenericWebhookResponse } from '../platforms/generic/generic.response';
import { fromStruct, ProtoStruct, toStruct } from './struct';

// Messages of fulfillment.v1 as proto-loader gives and takes them (PROTO_LOADER_OPTIONS: camelCase, enums by
// name, unset fields absent).

export interface ContextMessage {
  name?: string;
  lifespan?: number;
  parameters?: ProtoStruct;
}

export interface FulfillRequestMessage {
  requestId?: string;
  sessionId?: string;
  intent?: string;
  parameters?: ProtoStruct;
  contexts?: ContextMessage[];
  sessionParameters?: ProtoStruct;
  /** An enum name, or its number when the client sent a value this version does not know. */
  stage?: string | number;
  confirmation?: string | number;
  text?: string;
  languageCode?: string;
}

export type RichMessageMessage =
  | { text: { text: string } }
  | { quickReplies: { title?: string; replies: string[] } }
  | {
      card: {
        title: string;
        subtitle?: string;
        imageUrl?: string;
        buttons?: { text: string; postback?: string }[];
      };
    }
  | { image: { imageUrl: string; accessibilityText?: string } }
  | { payload: ProtoStruct };

export interface FulfillResponseMessage {
  requestId: string;
  outcome: string;
  text: string;
  messages: RichMessageMessage[];
  contexts?: { name: string; lifespan: number; parameters?: ProtoStruct }[];
  sessionParameters?: ProtoStruct;
  elicit?: { parameter: string; invalid?: boolean };
  confirm?: boolean;
  handoff?: { reason?: string };
  delegate?: boolean;
  failed?: boolean;
  endConversation?: boolean;
  followupEvent?: { name: string; parameters?: ProtoStruct; languageCode?: string };
  payload?: ProtoStruct;
  transition?: { page?: string; flow?: string };
  source?: string;
  replayed: boolean;
}

const STAGES: Readonly<Record<string, string | undefined>> = {
  STAGE_UNSPECIFIED: undefined,
  STAGE_DIALOG: 'dialog',
  STAGE_FULFILLMENT: 'fulfillment',
};

const CONFIRMATIONS: Readonly<Record<string, string | undefined>> = {
  CONFIRMATION_UNSPECIFIED: undefined,
  CONFIRMATION_CONFIRMED: 'confirmed',
  CONFIRMATION_DENIED: 'denied',
};

const OUTCOMES: Readonly<Record<DispatchOutcome, string>> = {
  fulfilled: 'OUTCOME_FULFILLED',
  fallback: 'OUTCOME_FALLBACK',
  failed: 'OUTCOME_FAILED',
  'timed-out': 'OUTCOME_TIMED_OUT',
  delegated: 'OUTCOME_DELEGATED',
};

/** proto3 cannot tell an empty string from an unset one: both are "not given". */
function given(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** An enum value we know maps to its generic value; one we do not is passed on for validation to refuse. */
function enumValue(value: string | number | undefined, known: Readonly<Record<string, string | undefined>>): unknown {
  if (value === undefined) return undefined;
  return typeof value === 'string' && value in known ? known[value] : value;
}

/**
 * A FulfillRequest as the generic webhook body it stands for; fields not given are left out, so the same
 * turn hashes the same for idempotency whichever way it arrives. Structs obey the JSON body's depth limit.
 */
export function toGenericBody(request: FulfillRequestMessage, maxDepth: number): Record<string, unknown> {
  const repeated = duplicateKeyOf(request);
  if (repeated !== undefined) {
    throw new AppError('MALFORMED_JSON', `The request repeats the key ${repeated}.`, [
      { field: repeated, problem: 'is a duplicate key' },
    ]);
  }
  // The body is level 1, as in a JSON request; its structs start at level 2 and contexts' at level 4.
  const entries: [string, unknown][] = [
    ['requestId', given(request.requestId)],
    ['sessionId', given(request.sessionId)],
    ['intent', given(request.intent)],
    ['parameters', fromStruct(request.parameters, 'parameters', maxDepth - 1)],
    ['sessionParameters', fromStruct(request.sessionParameters, 'session_parameters', maxDepth - 1)],
    ['languageCode', given(request.languageCode)],
    ['text', given(request.text)],
    ['stage', enumValue(request.stage, STAGES)],
    ['confirmation', enumValue(request.confirmation, CONFIRMATIONS)],
  ];
  if (request.contexts?.length) {
    const contexts = request.contexts.map((context, index) => {
      const parameters = fromStruct(context.parameters, `contexts.${index}.parameters`, maxDepth - 3);
      return Object.fromEntries(
        Object.entries({ name: given(context.name), lifespan: context.lifespan, parameters }).filter(
          ([, value]) => value !== undefined,
        ),
      );
    });
    entries.push(['contexts', contexts]);
  }
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined));
}

/** `sessionParameters` → `session_parameters`; the `Idempotency-Key` header is the `idempotency-key` metadata. */
export function protoFieldName(field: string): string {
  if (field === 'Idempotency-Key') return 'idempotency-key';
  return field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** A validation error of the generic request, told in FulfillRequest's own field names. */
export function asFulfillRequestError(error: AppError): AppError {
  if (error.code !== 'VALIDATION_FAILED' || error.details.length === 0) return error;
  const details: ErrorDetail[] = error.details.map((detail) => ({ ...detail, field: protoFieldName(detail.field) }));
  const fields = [...new Set(details.map((detail) => detail.field))].join(', ');
  return new AppError('VALIDATION_FAILED', `FulfillRequest is invalid: ${fields}.`, details, error.headers);
}

function toRichMessage(message: RichMessage): RichMessageMessage {
  switch (message.type) {
    case 'text':
      return { text: { text: message.text } };
    case 'quick-replies':
      return { quickReplies: { title: message.title, replies: [...message.replies] } };
    case 'card':
      return {
        card: {
          title: message.title,
          subtitle: message.subtitle,
          imageUrl: message.imageUrl,
          buttons: message.buttons?.map((button) => ({ ...button })),
        },
      };
    case 'image':
      return { image: { imageUrl: message.imageUrl, accessibilityText: message.accessibilityText } };
    case 'payload':
      return { payload: toStruct(message.payload) };
  }
}

/**
 * The generic response (as sent, or as stored by an earlier delivery of the turn) as a FulfillResponse: every
 * field carried over, absent ones left unset.
 */
export function toFulfillResponse(response: GenericWebhookResponse, replayed: boolean): FulfillResponseMessage {
  const followup = response.followupEvent;
  return {
    requestId: response.requestId,
    outcome: OUTCOMES[response.outcome] ?? 'OUTCOME_UNSPECIFIED',
    text: response.text,
    messages: response.messages.map(toRichMessage),
    contexts: response.contexts?.map((context) => ({
      name: context.name,
      lifespan: context.lifespan,
      parameters: context.parameters && toStruct(context.parameters),
    })),
    sessionParameters: response.sessionParameters && toStruct(response.sessionParameters),
    elicit: response.elicit,
    confirm: response.confirm,
    handoff: response.handoff,
    delegate: response.delegate,
    failed: response.failed,
    endConversation: response.endConversation,
    followupEvent: followup && {
      name: followup.name,
      parameters: followup.parameters && toStruct(followup.parameters),
      languageCode: followup.languageCode,
    },
    payload: response.payload && toStruct(response.payload),
    transition: response.transition,
    source: response.source,
    replayed,
  };
}
