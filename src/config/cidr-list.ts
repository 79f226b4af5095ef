import { ValidateBy, type ValidationOptions } from 'class-validator';
import { IpRanges } from '../common/net/client-address';

/** A comma-separated list of IPv4/IPv6 CIDR ranges (or single addresses); the message names the bad entries. */
export function IsCidrList(options?: ValidationOptions): PropertyDecorator {
  const invalid = (value: unknown): string[] =>
    typeof value === 'string' ? IpRanges.parseList(value).invalid : ['(not a string)'];
  return ValidateBy(
    {
      name: 'isCidrList',
      validator: {
        validate: (value: unknown) => invalid(value).length === 0,
        defaultMessage: (args) =>
          `must be a comma-separated list of IPv4/IPv6 CIDR ranges (e.g. 10.0.0.0/8,fd00::/8); not ranges: ${invalid(
            args?.value,
          )
            .map((entry) => JSON.stringify(entry.trim()))
            .join(', ')}`,
      },
    },
    options,
  );
}
