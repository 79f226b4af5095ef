import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { PLATFORMS } from '../../common/platform';
import { toInt } from '../../config';
import { IsFilterText } from './filter-text';
import { TimeRangeQuery } from './time-range.query';

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
  'conflict',
  'error',
] as const;

/** The turns table's filters, from the query string; anything else in it is refused. */
export class TurnsQuery extends TimeRangeQuery {
  @IsOptional()
  @IsIn(PLATFORMS)
  platform?: string;

  @IsOptional()
  @IsFilterText(200)
  intent?: string;

  @IsOptional()
  @IsFilterText(128)
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
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}
