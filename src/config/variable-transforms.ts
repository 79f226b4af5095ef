/** class-transformer transforms for environment variables (all arrive as strings), and their shared checks. */
import { ValidateBy } from 'class-validator';
import { secureEnough } from '../common/net/secure-url';

export const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;

export const toBool = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const normalised = value.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(normalised)) return true;
  if (['false', '0', 'no'].includes(normalised)) return false;
  return value;
};

export const emptyToUndefined = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/**
 * For a variable whose being unset means something (the README's "unset: …"): an empty value is unset, as for
 * text variables (`PROBE_PORT=${PROBE_PORT}` in a compose file, an empty Helm `extraEnv` value).
 */
export const toOptionalInt = (input: { value: unknown }): unknown => toInt({ value: emptyToUndefined(input) });
export const toOptionalBool = (input: { value: unknown }): unknown => toBool({ value: emptyToUndefined(input) });

/**
 * A base URL the service sends customer data to: an http(s) URL that is https, or plain http to a loopback address
 * only (a sidecar, a local test server), as for every URL that carries secrets; without credentials in it, which the
 * HTTP client would not send.
 */
export function IsSecureServiceUrl(): PropertyDecorator {
  return ValidateBy({
    name: 'isSecureServiceUrl',
    validator: {
      validate: (value: unknown) => {
        if (typeof value !== 'string' || /\s/.test(value)) return false;
        try {
          const url = new URL(value);
          // user:password@ would be dropped by the HTTP client without a word: every call then answered 401.
          if (url.username !== '' || url.password !== '') return false;
          return (url.protocol === 'https:' || url.protocol === 'http:') && secureEnough(url);
        } catch {
          return false;
        }
      },
      defaultMessage: () =>
        'must be an https URL without user:password@ (plain http only to a loopback address: customer data would ' +
        'cross the network in clear)',
    },
  });
}
