import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsDefined,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Min,
  ValidateNested,
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
 * Dialogflow takes at most 256 characters of text per query (TextInput.text, ES v2 and CX v3 references);
 * four times that leaves room for transcripts and a raised limit.
 */
export const DIALOGFLOW_TEXT_MAX_LENGTH = 1024;

const SESSION_PATTERN_SOURCE =
  '^projects/(?<project>[^/\\s]+)' +
  '(?:/locations/(?<location>[^/\\s]+))?' +
  '/agent' +
  '(?:/environments/(?<environment>[^/\\s]+)/users/(?<user>[^/\\s]+))?' +
  '/sessions/(?<sessionId>[^/\\s]+)';

export const DIALOGFLOW_ES_SESSION_PATTERN = new RegExp(`${SESSION_PATTERN_SOURCE}$`);

export const DIALOGFLOW_ES_CONTEXT_PATTERN = new RegExp(`${SESSION_PATTERN_SOURCE}/contexts/(?<context>[^/\\s]+)$`);

export interface DialogflowEsSessionName {
  project: string;
  location?: string;
  environment?: string;
  user?: string;
  sessionId: string;
}

export function parseDialogflowEsSession(session: string): DialogflowEsSessionName | undefined {
  const groups = DIALOGFLOW_ES_SESSION_PATTERN.exec(session)?.groups;
  if (groups?.project === undefined || groups.sessionId === undefined) {
    return undefined;
  }
  const { project, location, environment, user, sessionId } = groups;
  return {
    project,
    ...(location !== undefined && { location }),
    ...(environment !== undefined && { environment }),
    ...(user !== undefined && { user }),
    sessionId,
  };
}

const SESSION_MESSAGE =
  'session must be a Dialogflow ES session name such as projects/<project>/agent/sessions/<session>';

const CONTEXT_NAME_MESSAGE =
  '$property must be a Dialogflow ES context name such as projects/<project>/agent/sessions/<session>/contexts/<context>';

export class DialogflowEsContext {
  @IsString()
  @MaxChars(RESOURCE_NAME_MAX_LENGTH)
  @Matches(DIALOGFLOW_ES_CONTEXT_PATTERN, { message: CONTEXT_NAME_MESSAGE })
  name!: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  lifespanCount?: number;

  @IsOptional()
  @IsBoundedObject()
  parameters?: Record<string, unknown>;
}

/**
 * The matched intent. Only `displayName` routes the turn; Dialogflow's other Intent fields (name, isFallback,
 * endInteraction, liveAgentHandoff, …) are not read, so they are not checked either.
 */
export class DialogflowEsIntent {
  @IsString()
  @IsNotEmpty()
  @MaxChars(NAME_MAX_LENGTH)
  displayName!: string;
}

/**
 * The fields of `queryResult` the service acts on. Dialogflow sends more (action, fulfillmentMessages,
 * intentDetectionConfidence, diagnosticInfo, sentimentAnalysisResult, knowledgeAnswers, …): they are passed to
 * handlers untouched in `raw` and never refuse a call, whatever their shape.
 */
export class DialogflowEsQueryResult {
  @IsOptional()
  @IsString()
  @MaxChars(DIALOGFLOW_TEXT_MAX_LENGTH)
  queryText?: string;

  @IsOptional()
  @IsString()
  @MaxChars(LANGUAGE_TAG_MAX_LENGTH)
  languageCode?: string;

  @IsOptional()
  @IsBoundedObject()
  parameters?: Record<string, unknown>;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(LIST_MAX_ITEMS)
  // class-validator recurses into an array inside the array ([[…]]) and passes it: each item must be an object.
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => DialogflowEsContext)
  outputContexts?: DialogflowEsContext[];

  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => DialogflowEsIntent)
  intent!: DialogflowEsIntent;
}

/**
 * Body of a Dialogflow ES (v2 / v2beta1) fulfillment webhook call. Validated: what the service acts on
 * (responseId, session, the query's text, language, parameters, contexts and intent name). Tolerated, in any
 * shape: everything else, e.g. `originalDetectIntentRequest` (telephony, Messenger payloads) and v2beta1's
 * `alternativeQueryResults`, whose knowledge-connector entries carry no intent.
 */
export class DialogflowEsWebhookRequest {
  @IsString()
  @IsNotEmpty()
  @MaxChars(ID_MAX_LENGTH)
  responseId!: string;

  @IsString()
  @MaxChars(SESSION_ID_MAX_LENGTH)
  @Matches(DIALOGFLOW_ES_SESSION_PATTERN, { message: SESSION_MESSAGE })
  session!: string;

  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => DialogflowEsQueryResult)
  queryResult!: DialogflowEsQueryResult;
}
