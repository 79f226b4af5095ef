import { Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsDefined,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { SESSION_ID_MAX_LENGTH } from '../../common/limits';

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
  @Matches(DIALOGFLOW_ES_CONTEXT_PATTERN, { message: CONTEXT_NAME_MESSAGE })
  name!: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  lifespanCount?: number;

  @IsOptional()
  @IsObject()
  parameters?: Record<string, unknown>;
}

/**
 * The matched intent. Dialogflow fills only some Intent fields in a webhook request (name, displayName,
 * isFallback, endInteraction, liveAgentHandoff); the rest of the Intent resource (training phrases,
 * messages, …) never arrives here and is ignored like any unknown field.
 */
export class DialogflowEsIntent {
  @IsOptional()
  @IsString()
  name?: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(512)
  displayName!: string;

  @IsOptional()
  @IsBoolean()
  isFallback?: boolean;

  @IsOptional()
  @IsBoolean()
  liveAgentHandoff?: boolean;

  @IsOptional()
  @IsBoolean()
  endInteraction?: boolean;
}

export class DialogflowEsQueryResult {
  @IsOptional()
  @IsString()
  queryText?: string;

  @IsOptional()
  @IsString()
  languageCode?: string;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  speechRecognitionConfidence?: number;

  @IsOptional()
  @IsString()
  action?: string;

  @IsOptional()
  @IsObject()
  parameters?: Record<string, unknown>;

  @IsOptional()
  @IsBoolean()
  allRequiredParamsPresent?: boolean;

  @IsOptional()
  @IsBoolean()
  cancelsSlotFilling?: boolean;

  @IsOptional()
  @IsString()
  fulfillmentText?: string;

  @IsOptional()
  @IsArray()
  @IsObject({ each: true })
  fulfillmentMessages?: Record<string, unknown>[];

  @IsOptional()
  @IsString()
  webhookSource?: string;

  @IsOptional()
  @IsObject()
  webhookPayload?: Record<string, unknown>;

  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => DialogflowEsContext)
  outputContexts?: DialogflowEsContext[];

  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => DialogflowEsIntent)
  intent!: DialogflowEsIntent;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  intentDetectionConfidence?: number;

  @IsOptional()
  @IsObject()
  diagnosticInfo?: Record<string, unknown>;

  @IsOptional()
  @IsObject()
  sentimentAnalysisResult?: Record<string, unknown>;

  // v2beta1 only.
  @IsOptional()
  @IsObject()
  knowledgeAnswers?: Record<string, unknown>;
}

export class DialogflowEsOriginalDetectIntentRequest {
  @IsOptional()
  @IsString()
  source?: string;

  @IsOptional()
  @IsString()
  version?: string;

  @IsOptional()
  @IsObject()
  payload?: Record<string, unknown>;
}

/**
 * Body of a Dialogflow ES (v2 / v2beta1) fulfillment webhook call.
 * Unknown fields are tolerated so that new Google fields never break fulfillment.
 */
export class DialogflowEsWebhookRequest {
  @IsString()
  @IsNotEmpty()
  responseId!: string;

  @IsString()
  @MaxLength(SESSION_ID_MAX_LENGTH)
  @Matches(DIALOGFLOW_ES_SESSION_PATTERN, { message: SESSION_MESSAGE })
  session!: string;

  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => DialogflowEsQueryResult)
  queryResult!: DialogflowEsQueryResult;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => DialogflowEsOriginalDetectIntentRequest)
  originalDetectIntentRequest?: DialogflowEsOriginalDetectIntentRequest;

  // v2beta1 only.
  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => DialogflowEsQueryResult)
  alternativeQueryResults?: DialogflowEsQueryResult[];
}
