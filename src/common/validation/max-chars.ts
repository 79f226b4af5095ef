import { buildMessage, ValidateBy, type ValidationOptions } from 'class-validator';

/** The constraint's name, which the OpenAPI schemas map to `maxLength` (request-schemas.ts). */
export const MAX_CHARS = 'maxChars';

/** Whether `value` has at most `max` characters (Unicode code points, as PostgreSQL and JSON Schema count them). */
export function withinChars(value: string, max: number): boolean {
  // UTF-16 units are at least as many as code points: most values need no counting.
  if (value.length <= max) return true;
  let count = 0;
  for (let index = 0; index < value.length; index++) {
    const unit = value.charCodeAt(index);
    // A high surrogate followed by a low one is one code point.
    if (unit >= 0xd800 && unit <= 0xdbff && index + 1 < value.length) {
      const next = value.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) index++;
    }
    if (++count > max) return false;
  }
  return true;
}

/**
 * At most `max` characters, counted as PostgreSQL counts a varchar's and JSON Schema a `maxLength`: by code point.
 * class-validator's MaxLength (validator.js isLength) does not count a variation selector after a character, so
 * 512 × "x\uFE0F" passed a 512 limit as 1,024 characters, and the varchar(512) it was stored in refused it with a
 * 500 (or lost a late result).
 */
export function MaxChars(max: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: MAX_CHARS,
      constraints: [max],
      validator: {
        validate: (value: unknown) => typeof value === 'string' && withinChars(value, max),
        defaultMessage: buildMessage(
          (each) => `${each}$property must be shorter than or equal to $constraint1 characters`,
          options,
        ),
      },
    },
    options,
  );
}
