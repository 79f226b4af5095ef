import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { type ConfigSection, emptyToUndefined, IsSecureServiceUrl, toInt } from '../../config';

/** The carrier estimate API (GetShippingEstimate). */
export abstract class CarrierOptions {
  /** Unset: a local demo carrier runs outside production. */
  abstract readonly url?: string;
  abstract readonly timeoutMs: number;
  abstract readonly retries: number;
}

class CarrierVariables {
  /** Base URL of the carrier's estimate API; unset in development starts a local demo carrier. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsSecureServiceUrl()
  CARRIER_API_URL?: string;

  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(30_000)
  CARRIER_TIMEOUT_MS = 1500;

  /** Retries of a failed carrier call (estimates are idempotent reads). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(5)
  CARRIER_RETRIES = 2;
}

export const CARRIER_OPTIONS: ConfigSection<CarrierOptions, CarrierVariables> = {
  provide: CarrierOptions,
  variables: CarrierVariables,
  build: (variables) => ({
    url: variables.CARRIER_API_URL,
    timeoutMs: variables.CARRIER_TIMEOUT_MS,
    retries: variables.CARRIER_RETRIES,
  }),
};
