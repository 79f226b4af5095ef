import { Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsDefined,
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { SESSION_ID_MAX_LENGTH } from '../../common/limits';

/** `latest_message.intent`: what the NLU pipeline classified (informational: the action name picks our intent). */
export class RasaIntent {
  @IsOptional()
  @IsString()
  name?: string | null;

  @IsOptional()
  @IsNumber()
  confidence?: number | null;
}

/** One extracted entity; `start`, `end`, `extractor`, `role`, `group`, … are ignored. */
export class RasaEntity {
  @IsString()
  @IsNotEmpty()
  entity!: string;

  /** Any JSON value (duckling gives objects, the regex extractor strings). */
  value?: unknown;
}

/** The user's last message as Rasa parsed it; `{}` before the first message. */
export class RasaLatestMessage {
  @IsOptional()
  @IsString()
  text?: string | null;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => RasaIntent)
  intent?: RasaIntent | null;

  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => RasaEntity)
  entities?: RasaEntity[] | null;

  /** Channel metadata; we read the language from it (`language`, `languageCode` or `language_code`). */
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown> | null;
}

/** The running loop (form); `{}` or `{name: null}` when none runs. */
export class RasaActiveLoop {
  @IsOptional()
  @IsString()
  name?: string | null;
}

/** The conversation tracker, as Rasa serialises it for the action server. */
export class RasaTracker {
  @IsOptional()
  @IsString()
  @MaxLength(SESSION_ID_MAX_LENGTH)
  @IsNotEmpty()
  sender_id?: string;

  @IsOptional()
  @IsObject()
  slots?: Record<string, unknown> | null;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => RasaLatestMessage)
  latest_message?: RasaLatestMessage | null;

  @IsOptional()
  @IsString()
  latest_action_name?: string | null;

  @IsOptional()
  @IsArray()
  @IsObject({ each: true })
  events?: Record<string, unknown>[] | null;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => RasaActiveLoop)
  active_loop?: RasaActiveLoop | null;

  @IsOptional()
  @IsString()
  latest_input_channel?: string | null;

  @IsOptional()
  @IsBoolean()
  paused?: boolean | null;

  @IsOptional()
  @IsString()
  followup_action?: string | null;
}

/** The parts of the domain we read: the slot names (to set only slots the assistant declares). */
export class RasaDomain {
  @IsOptional()
  @IsObject()
  slots?: Record<string, unknown> | null;
}

/**
 * Body of a Rasa action server call (`POST /webhook`), as sent by Rasa's `RemoteAction`.
 * Unknown fields are ignored at every level, so new Rasa versions never break fulfilment. The sender id is
 * required, either at the top level (Rasa 2.x and later) or in the tracker.
 */
export class RasaActionCall {
  @IsString()
  @IsNotEmpty()
  next_action!: string;

  @ValidateIf((call: RasaActionCall) => call.sender_id !== undefined || call.tracker?.sender_id === undefined)
  @IsString()
  @MaxLength(SESSION_ID_MAX_LENGTH)
  @IsNotEmpty()
  sender_id?: string;

  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => RasaTracker)
  tracker!: RasaTracker;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => RasaDomain)
  domain?: RasaDomain | null;

  @IsOptional()
  @IsString()
  version?: string | null;
}
