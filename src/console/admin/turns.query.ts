import { Transform } from 'class-transformer';
import { IsDateString, IsIn, IsInt, IsNumberString, IsOptional, Matches, Max, MaxLength, Min } from 'class-validator';
import { PLATFORMS } from '../../common/platform';
import { toInt } from '../../config';

const OUTCOMES = [
  'fulfilled',
  'fallback',
  'failed',
  'delegated',
  'timed-out',
  'queued',
  'replayed',
  'degraded',
  'busy',
  'error',
] as const;

/** The turns table's filters, from the query string; anything else in it is refused. */
export class TurnsQuery {
  @IsOptional()
  @IsIn(PLATFORMS)
  platform?: string;

  @IsOptional()
  @MaxLength(200)
  intent?: string;

  @IsOptional()
  @MaxLength(128)
  caller?: string;

  @IsOptional()
  @IsIn(OUTCOMES)
  outcome?: string;

  /** Only turns that took at least this long. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  minMs?: number;

  @IsOptional()
  @IsDateString({ strict: true })
  from?: string;

  @IsOptional()
  @IsDateString({ strict: true })
  to?: string;

  /** The next page: turns older than this id. */
  @IsOptional()
  @IsNumberString({ no_symbols: true })
  @Matches(/^\d{1,18}$/)
  before?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}
