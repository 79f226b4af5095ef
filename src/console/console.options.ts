import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, Max, Min } from 'class-validator';
import { type ConfigSection, toBool, toInt } from '../config';

/** The operator console's settings (the admin listener itself is ADMIN_* in the service's configuration). */
export abstract class ConsoleOptions {
  abstract readonly turnLog: {
    /** Keep a row per finished turn for the console (TURN_LOG_ENABLED). */
    readonly enabled: boolean;
    readonly retentionHours: number;
    /** How often buffered turns are written (one INSERT per batch). */
    readonly flushMs: number;
    /** Turns held while PostgreSQL cannot take them; beyond this, new ones are dropped and counted. */
    readonly maxBuffered: number;
  };
}

class ConsoleVariables {
  /** Keep a row per finished turn (platform, intent, caller, outcome, duration; never bodies) for the console. */
  @Transform(toBool)
  @IsBoolean()
  TURN_LOG_ENABLED = true;

  /** Hours a turn stays in the turn log. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(24 * 90)
  TURN_LOG_RETENTION_HOURS = 72;

  /** Milliseconds between the turn log's batched writes. */
  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(60_000)
  TURN_LOG_FLUSH_MS = 500;

  /** Turns buffered while PostgreSQL is unavailable; beyond this, new ones are dropped (and counted). */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(1_000_000)
  TURN_LOG_MAX_BUFFERED = 20_000;
}

export const CONSOLE_OPTIONS: ConfigSection<ConsoleOptions, ConsoleVariables> = {
  provide: ConsoleOptions,
  variables: ConsoleVariables,
  build: (variables) => ({
    turnLog: {
      enabled: variables.TURN_LOG_ENABLED,
      retentionHours: variables.TURN_LOG_RETENTION_HOURS,
      flushMs: variables.TURN_LOG_FLUSH_MS,
      maxBuffered: variables.TURN_LOG_MAX_BUFFERED,
    },
  }),
};
