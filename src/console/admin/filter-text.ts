import { ValidateBy, type ValidationOptions } from 'class-validator';

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Text a filter is compared with in SQL (a caller id, an intent, an event source): a string of at most
 * `maxLength` characters without control characters. PostgreSQL cannot compare text holding a NUL (it fails
 * the query), and no name the service records holds a control character.
 */
export function IsFilterText(maxLength: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isFilterText',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && value.length <= maxLength && !CONTROL.test(value),
        defaultMessage: (args) =>
          `${args?.property ?? 'value'} must be text of at most ${maxLength} characters without control characters`,
      },
    },
    options,
  );
}

/** An http(s) URL as `new URL` reads it (the rule the callers file follows), of at most `maxLength` characters. */
export function IsHttpUrl(maxLength: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isHttpUrl',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && value.length <= maxLength && !CONTROL.test(value) && isHttpUrl(value),
        defaultMessage: (args) =>
          `${args?.property ?? 'value'} must be an http(s) URL of at most ${maxLength} characters`,
      },
    },
    options,
  );
}

function isHttpUrl(text: string): boolean {
  try {
    const { protocol } = new URL(text);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}
