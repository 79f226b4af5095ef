import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Validate,
  ValidateNested,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { MaxChars } from '../../common/validation/max-chars';
import { SESSION_ID_MAX_LENGTH } from '../../common/limits';
import {
  ID_MAX_LENGTH,
  LANGUAGE_TAG_MAX_LENGTH,
  LIST_MAX_ITEMS,
  NAME_MAX_LENGTH,
  RESOURCE_NAME_MAX_LENGTH,
} from '../../common/validation/bounds';
import { IsBoundedObject } from '../../common/validation/bounded-object';

/**
 * CX takes at most 256 characters of text per query (TextInput.text, v3 reference); four times that leaves room
 * for voice transcripts and a raised limit.
 */
export const DIALOGFLOW_CX_TEXT_MAX_LENGTH = 1024;

const ID = '[^/\\s]+';
const AGENT_SOURCE = `^(?<agent>projects/(?<project>${ID})/locations/(?<location>${ID})/agents/(?<agentId>${ID}))`;

/** `projects/<p>/locations/<l>/agents/<a>[/environments/<e>]/sessions/<s>` */
export const DIALOGFLOW_CX_SESSION_PATTERN = new RegExp(
  `${AGENT_SOURCE}(?:/environments/(?<environment>${ID}))?/sessions/(?<sessionId>${ID})$`,
);

/** `projects/<p>/locations/<l>/agents/<a>/flows/<f>` */
export const DIALOGFLOW_CX_FLOW_PATTERN = new RegExp(`${AGENT_SOURCE}/flows/(?<flowId>${ID})$`);

/** `projects/<p>/locations/<l>/agents/<a>/flows/<f>/pages/<page>` */
export const DIALOGFLOW_CX_PAGE_PATTERN = new RegExp(
  `^(?<flow>${AGENT_SOURCE.slice(1)}/flows/(?<flowId>${ID}))/pages/(?<pageId>${ID})$`,
);

export const PARAMETER_STATES = ['PARAMETER_STATE_UNSPECIFIED', 'EMPTY', 'INVALID', 'FILLED'] as const;
export type DialogflowCxParameterState = (typeof PARAMETER_STATES)[number];

const SESSION_MESSAGE =
  'session must be a Dialogflow CX session name such as projects/<project>/locations/<location>/agents/<agent>/sessions/<session>';

export class DialogflowCxFulfillmentInfo {
  /** The tag of the fulfillment that called the webhook; may be empty when the agent sets none. */
  @IsOptional()
  @IsString()
  @MaxChars(NAME_MAX_LENGTH)
  tag?: string;
}

/** A value of `intentInfo.parameters`; `resolvedValue` is any JSON value (string, number, object, …). */
export interface DialogflowCxIntentParameterValue {
  originalValue?: string;
  resolvedValue?: unknown;
}

@ValidatorConstraint({ name: 'intentParameters' })
class IntentParametersConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return true; // @IsObject reports it
    return Object.values(value).every(
      (entry) =>
        typeof entry === 'object' &&
        entry !== null &&
        !Array.isArray(entry) &&
        ((entry as DialogflowCxIntentParameterValue).originalValue === undefined ||
          typeof (entry as DialogflowCxIntentParameterValue).originalValue === 'string'),
    );
  }

  defaultMessage(args: ValidationArguments): string {
    const value = args.value as Record<string, unknown>;
    const bad = Object.keys(value).filter((key) => !this.validate({ [key]: value[key] }));
    return `${args.property} must map each name to {originalValue, resolvedValue} (bad: ${bad.join(', ')})`;
  }
}

export class DialogflowCxIntentInfo {
  @IsOptional()
  @IsString()
  @MaxChars(NAME_MAX_LENGTH)
  displayName?: string;

  @IsOptional()
  @IsBoundedObject()
  @Validate(IntentParametersConstraint)
  parameters?: Record<string, DialogflowCxIntentParameterValue>;
}

export class DialogflowCxParameterInfo {
  @IsString()
  @IsNotEmpty()
  @MaxChars(NAME_MAX_LENGTH)
  displayName!: string;

  @IsOptional()
  @IsBoolean()
  required?: boolean;

  // Proto3 JSON leaves a zero enum out, so an absent state is PARAMETER_STATE_UNSPECIFIED.
  @IsOptional()
  @IsIn(PARAMETER_STATES)
  state?: DialogflowCxParameterState;

  /** Any JSON value. */
  @IsOptional()
  value?: unknown;
}

export class DialogflowCxFormInfo {
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(LIST_MAX_ITEMS)
  // class-validator recurses into an array inside the array ([[…]]) and passes it: each item must be an object.
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => DialogflowCxParameterInfo)
  parameterInfo?: DialogflowCxParameterInfo[];
}

export class DialogflowCxPageInfo {
  @IsOptional()
  @IsString()
  @MaxChars(RESOURCE_NAME_MAX_LENGTH)
  currentPage?: string;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => DialogflowCxFormInfo)
  formInfo?: DialogflowCxFormInfo;
}

export class DialogflowCxSessionInfo {
  @IsString()
  @MaxChars(SESSION_ID_MAX_LENGTH)
  @Matches(DIALOGFLOW_CX_SESSION_PATTERN, { message: SESSION_MESSAGE })
  session!: string;

  @IsOptional()
  @IsBoundedObject()
  parameters?: Record<string, unknown>;
}

/**
 * Body of a Dialogflow CX (v3 / v3beta1) webhook call, as documented for `WebhookRequest`. Validated: what the
 * service acts on (the response id, language, tag, matched intent and its parameters, the page's form, the
 * session, the user's text, transcript or DTMF digits). Tolerated, in any shape: everything else (the intent's
 * confidence, `triggerIntent`, `triggerEvent`, `messages`, `payload`, `sentimentAnalysisResult`, `languageInfo` (its
 * `resolvedLanguageCode` is used when it is a language tag),
 * the page's display name, `justCollected`, and fields Google adds later).
 */
export class DialogflowCxWebhookRequest {
  @IsString()
  @IsNotEmpty()
  @MaxChars(ID_MAX_LENGTH)
  detectIntentResponseId!: string;

  @IsOptional()
  @IsString()
  @MaxChars(LANGUAGE_TAG_MAX_LENGTH)
  languageCode?: string;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => DialogflowCxFulfillmentInfo)
  fulfillmentInfo?: DialogflowCxFulfillmentInfo;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => DialogflowCxIntentInfo)
  intentInfo?: DialogflowCxIntentInfo;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => DialogflowCxPageInfo)
  pageInfo?: DialogflowCxPageInfo;

  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => DialogflowCxSessionInfo)
  sessionInfo!: DialogflowCxSessionInfo;

  // The user's input, of which at most one is set (events and intent triggers are not read).
  @IsOptional()
  @IsString()
  @MaxChars(DIALOGFLOW_CX_TEXT_MAX_LENGTH)
  text?: string;

  @IsOptional()
  @IsString()
  @MaxChars(DIALOGFLOW_CX_TEXT_MAX_LENGTH)
  transcript?: string;

  @IsOptional()
  @IsString()
  @MaxChars(DIALOGFLOW_CX_TEXT_MAX_LENGTH)
  dtmfDigits?: string;
}

/** The intent to dispatch to: the fulfillment tag when set, else the last matched intent's display name. */
export function routeOf(request: DialogflowCxWebhookRequest): string | undefined {
  const tag = request.fulfillmentInfo?.tag?.trim();
  if (tag) return tag;
  const intent = request.intentInfo?.displayName?.trim();
  return intent || undefined;
}
