import { IsDateString, IsOptional, Matches } from 'class-validator';

/** A time range and the next page's cursor, as the console's lists take them from the query string. */
export class TimeRangeQuery {
  @IsOptional()
  @IsDateString({ strict: true })
  from?: string;

  @IsOptional()
  @IsDateString({ strict: true })
  to?: string;

  /** The next page: rows older than this id. */
  @IsOptional()
  @Matches(/^\d{1,18}$/, { message: 'before must be a row id' })
  before?: string;
}
