import { isISO8601, Matches, IsOptional, ValidateBy, type ValidationOptions } from 'class-validator';

/**
 * A point in time as ISO 8601 writes it, and as `new Date` reads it. ISO 8601 also has week dates
 * (`2024-W01-1`), which `new Date` reads as no time at all; the database would then be sent `NaN`.
 */
export function IsInstant(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isInstant',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && isISO8601(value, { strict: true }) && !Number.isNaN(new Date(value).getTime()),
        defaultMessage: (args) =>
          `${args?.property ?? 'value'} must be an ISO 8601 date or date-time, such as 2026-12-01 or 2026-12-01T09:30:00Z`,
      },
    },
    options,
  );
}

/** A time range and the next page's cursor, as the console's lists take them from the query string. */
export class TimeRangeQuery {
  @IsOptional()
  @IsInstant()
  from?: string;

  @IsOptional()
  @IsInstant()
  to?: string;

  /** The next page: rows older than this id. */
  @IsOptional()
  @Matches(/^\d{1,18}$/, { message: 'before must be a row id' })
  before?: string;
}
