import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { CircuitBreakerPolicy } from 'cockatiel';
import { AppConfig } from '../../config';
import { CarrierOptions } from './carrier.options';
import {
  CircuitOpenError,
  consecutiveFailuresCircuit,
  OutboundHttpClient,
  OutboundNetworkError,
  type OutboundResponse,
  OutboundResponseTooLargeError,
  OutboundTimeoutError,
  throughCircuit,
  underBase,
} from '../../outbound';
import { startDemoCarrier } from './demo-carrier.server';

export interface ShippingEstimate {
  readonly carrier: string;
  readonly service: string;
  readonly days: number;
}

export type EstimateOutcome =
  | { readonly ok: true; readonly estimate: ShippingEstimate }
  /**
   * `rejected`: the carrier said this request is wrong (400, 404, 422): the destination postcode is the part of it
   * the user gave.
   */
  | { readonly ok: false; readonly reason: 'unavailable' | 'circuit-open' | 'not-configured' | 'rejected' };

const BREAK_AFTER_FAILURES = 5;
const HALF_OPEN_AFTER_MS = 10_000;
/** The carrier client's own circuit, which also counts useless answers (the HTTP client's is named 'carrier'). */
const CARRIER_CIRCUIT = 'carrier-answers';

/** The carrier answered, but not with an estimate (an error status or an unreadable body). */
class CarrierAnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CarrierAnswerError';
  }
}

/**
 * The carrier refused this one request (400, 404, 422: an unknown postcode the bot let through): it works, and
 * other requests are not affected. Not counted by the circuit: five users typing a wrong postcode (or one sending
 * it again and again) shut estimates off for everybody.
 */
class CarrierRefusedRequestError extends Error {
  constructor(readonly status: number) {
    super(`carrier refused the request with HTTP ${status}`);
    this.name = 'CarrierRefusedRequestError';
  }
}

/** 4xx answers that say the carrier (or our access to it) is out of order, not the one request. */
const SERVICE_WIDE_4XX = new Set([401, 403, 407, 408, 429]);
/** 4xx answers that say what was asked is wrong (an unknown or malformed postcode), not that the carrier is out. */
const WRONG_REQUEST_4XX = new Set([400, 404, 422]);

function parseEstimate(response: OutboundResponse): ShippingEstimate {
  if (response.status >= 400 && response.status < 500 && !SERVICE_WIDE_4XX.has(response.status)) {
    throw new CarrierRefusedRequestError(response.status);
  }
  if (response.status < 200 || response.status > 299) {
    throw new CarrierAnswerError(`carrier answered HTTP ${response.status}`);
  }
  let value: Partial<ShippingEstimate> | null;
  try {
    value = response.json() as Partial<ShippingEstimate> | null;
  } catch {
    throw new CarrierAnswerError('carrier answered with a body that is not JSON');
  }
  if (
    typeof value?.carrier !== 'string' ||
    typeof value.service !== 'string' ||
    typeof value.days !== 'number' ||
    !Number.isInteger(value.days) ||
    value.days < 0 ||
    value.days > 60
  ) {
    throw new CarrierAnswerError('carrier answered with an unexpected body');
  }
  return { carrier: value.carrier, service: value.service, days: value.days };
}

/**
 * The carrier's estimate API, called through `OutboundHttpClient` (per-attempt timeout, retries with
 * backoff — estimates are idempotent reads — and a transport circuit breaker). A second breaker here also
 * counts answers that are useless to us (error statuses, garbage bodies), which the HTTP client cannot
 * judge: after repeated failures of either kind callers get an answer at once instead of waiting on the API.
 */
@Injectable()
export class CarrierClient implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(CarrierClient.name);
  private readonly breaker: CircuitBreakerPolicy;
  private baseUrl?: string;
  private demo?: { close(): Promise<void> };

  constructor(
    private readonly options: CarrierOptions,
    private readonly config: AppConfig,
    private readonly http: OutboundHttpClient,
  ) {
    this.breaker = consecutiveFailuresCircuit({
      failsOn: (error) =>
        error instanceof CarrierAnswerError ||
        error instanceof OutboundTimeoutError ||
        error instanceof OutboundNetworkError ||
        error instanceof OutboundResponseTooLargeError,
      breakAfterFailures: BREAK_AFTER_FAILURES,
      halfOpenAfterMs: HALF_OPEN_AFTER_MS,
    });
    this.breaker.onBreak(() => this.logger.warn('Carrier API circuit opened: answering without calling it'));
    this.breaker.onReset(() => this.logger.log('Carrier API circuit closed again'));
  }

  async onModuleInit(): Promise<void> {
    this.baseUrl = this.options.url;
    if (!this.baseUrl && !this.config.isProduction) {
      const demo = await startDemoCarrier();
      this.demo = demo;
      this.baseUrl = demo.url;
      this.logger.log(`CARRIER_API_URL is not set: demo carrier API on ${demo.url}`);
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.demo?.close();
  }

  async estimate(
    from: string,
    to: string,
    weightGrams: number,
    signal?: AbortSignal,
    deadline?: Date,
  ): Promise<EstimateOutcome> {
    const baseUrl = this.baseUrl;
    if (!baseUrl) return { ok: false, reason: 'not-configured' };
    const url = underBase(baseUrl, 'v1/estimates');
    url.search = new URLSearchParams({ from, to, weight: String(weightGrams) }).toString();
    const { timeoutMs, retries } = this.options;
    try {
      // Refused at once while a trial of the carrier is under way; the trial is one attempt.
      const estimate = await throughCircuit(this.breaker, CARRIER_CIRCUIT, signal, async (trial) =>
        parseEstimate(
          await this.http.request({
            method: 'GET',
            url,
            headers: { accept: 'application/json' },
            timeoutMs,
            retries: trial ? 0 : retries,
            idempotent: true,
            signal,
            // A Retry-After that ends past the turn's deadline is not waited for.
            deadline,
            breaker: 'carrier',
          }),
        ),
      );
      return { ok: true, estimate };
    } catch (error: unknown) {
      if (error instanceof CircuitOpenError) {
        return { ok: false, reason: 'circuit-open' };
      }
      // Logged too: a carrier that answers 404 to every request is more likely a wrong CARRIER_API_URL.
      this.logger.warn(`Carrier estimate failed: ${error instanceof Error ? error.message : String(error)}`);
      if (error instanceof CarrierRefusedRequestError && WRONG_REQUEST_4XX.has(error.status)) {
        return { ok: false, reason: 'rejected' };
      }
      return { ok: false, reason: 'unavailable' };
    }
  }
}
