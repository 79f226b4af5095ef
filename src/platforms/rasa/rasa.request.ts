import { Type } from 'class-transformer';
import {
  IsArray,
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

/** One extracted entity; `start`, `end`, `extractor`, `role`, `group`, … are ignored. */
export class RasaEntity {
  @IsString()
  @IsNotEmpty()
  entity!: string;

  /** Any JSON value (duckling gives objects, the regex extractor strings). */
  value?: unknown;
}

/**
 * The user's last message as Rasa parsed it; `{}` before the first message. `intent` (what the NLU classified) is
 * not read, since the action name picks our intent, so it may have any shape.
 */
export class RasaLatestMessage {
  @IsOptional()
  @IsString()
  text?: string | null;

  /** Part of the turn's id (see `rasaTurnIdOf`). */
  @IsOptional()
  @IsString()
  message_id?: string | null;

  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => RasaEntity)
  entities?: RasaEntity[] | null;

  /**
   * Channel metadata, in whatever shape the channel sends; the language is read from it when it is an object with
   * a non-empty string `language`, `languageCode` or `language_code`, else it is `en`.
   */
  metadata?: unknown;
}

/** The running loop (form); `{}` or `{name: null}` when none runs. */
export class RasaActiveLoop {
  @IsOptional()
  @IsString()
  name?: string | null;
}

/**
 * The conversation tracker, as Rasa serialises it for the action server. Only the fields below are read;
 * `latest_action_name`, `latest_input_channel`, `paused`, `followup_action` and the rest may have any shape.
 */
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

  /**
   * Read only for the turn's id (their count, the last `user` event's `message_id` and `timestamp`, the last
   * event's `timestamp`); an event of another shape, or of a kind we do not know, is tolerated.
   */
  @IsOptional()
  @IsArray()
  events?: unknown[] | null;

  /** Part of the turn's id. */
  @IsOptional()
  @IsNumber()
  latest_event_time?: number | null;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => RasaActiveLoop)
  active_loop?: RasaActiveLoop | null;
}

/** The parts of the domain we read: the slot names (to set only slots the assistant declares). */
export class RasaDomain {
  @IsOptional()
  @IsObject()
  slots?: Record<string, unknown> | null;
}

/**
 * Body of a Rasa action server call (`POST /webhook`), as sent by Rasa's `RemoteAction`.
 * What is read is validated; everything else (unknown fields, `version`, …) is ignored at every level, whatever
 * its shape, so new Rasa versions never break fulfilment. The sender id is required, either at the top level
 * (Rasa 2.x and later) or in the tracker.
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
}
