import { isISO8601, Matches, IsOptional, ValidateBy, type ValidationOptions } from 'class-validator';

/**
 * An ordinal date, a year and a day of that year (`2026-010`, `2026010`, `2026-010T09:30Z`), as the whole value or
 * as its date part. `new Date` reads `2026-010` as 1 October (the day as a month) and `2026-340` as no time at all.
 */
const ORDINAL_DATE = /^(?:\d{4}|[+-]\d{6})-?\d{3}(?!\d)/;

/**
 * A point in time as ISO 8601 writes it, and as `new Date` reads it. ISO 8601 also has week dates
 * (`2024-W01-1`), which `new Date` reads as no time at all (the database would then be sent `NaN`), and ordinal
 * dates, which it misreads (`ORDINAL_DATE`): both are refused.
 */
export function IsInstant(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isInstant',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' &&
          isISO8601(value, { strict: true }) &&
          !ORDINAL_DATE.test(value) &&
          !Number.isNaN(new Date(value).getTime()),
        defaultMessage: (args) => {
          const property = args?.property ?? 'value';
          return typeof args?.value === 'string' && ORDINAL_DATE.test(args.value)
            ? `${property} is an ordinal date (a year and a day of that year), which is not taken; write the calendar date, such as 2026-01-10 for 2026-010`
            : `${property} must be an ISO 8601 date or date-time, such as 2026-12-01 or 2026-12-01T09:30:00Z`;
        },
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
