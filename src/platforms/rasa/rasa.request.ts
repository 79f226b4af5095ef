import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsDefined,
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { MaxChars } from '../../common/validation/max-chars';
import { SESSION_ID_MAX_LENGTH } from '../../common/limits';
import { FREE_TEXT_MAX_LENGTH, ID_MAX_LENGTH, LIST_MAX_ITEMS, NAME_MAX_LENGTH } from '../../common/validation/bounds';
import { IsBoundedObject } from '../../common/validation/bounded-object';

/**
 * Rasa sends the whole tracker, whose events grow with the conversation (Rasa documents no cap); a turn is a few
 * events, so this allows thousands of turns, more than BODY_LIMIT_BYTES usually holds.
 */
export const RASA_MAX_EVENTS = 10_000;

/** One extracted entity; `start`, `end`, `extractor`, `role`, `group`, … are ignored. */
export class RasaEntity {
  @IsString()
  @IsNotEmpty()
  @MaxChars(NAME_MAX_LENGTH)
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
  @MaxChars(FREE_TEXT_MAX_LENGTH)
  text?: string | null;

  /** Part of the turn's id (see `rasaTurnIdOf`). */
  @IsOptional()
  @IsString()
  @MaxChars(ID_MAX_LENGTH)
  message_id?: string | null;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(LIST_MAX_ITEMS)
  // class-validator recurses into an array inside the array ([[…]]) and passes it: each item must be an object.
  @IsObject({ each: true })
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
  @MaxChars(NAME_MAX_LENGTH)
  name?: string | null;
}

/**
 * The conversation tracker, as Rasa serialises it for the action server. Only the fields below are read;
 * `latest_action_name`, `latest_input_channel`, `paused`, `followup_action` and the rest may have any shape.
 */
export class RasaTracker {
  @IsOptional()
  @IsString()
  @MaxChars(SESSION_ID_MAX_LENGTH)
  @IsNotEmpty()
  sender_id?: string;

  @IsOptional()
  @IsBoundedObject()
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
  @ArrayMaxSize(RASA_MAX_EVENTS)
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
  @IsBoundedObject()
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
  @MaxChars(NAME_MAX_LENGTH)
  next_action!: string;

  @ValidateIf((call: RasaActionCall) => call.sender_id !== undefined || call.tracker?.sender_id === undefined)
  @IsString()
  @MaxChars(SESSION_ID_MAX_LENGTH)
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
