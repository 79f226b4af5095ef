import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import {
  BrokenCircuitError,
  circuitBreaker,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleAll,
  IPolicy,
  retry,
  timeout,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import { AppConfig } from '../../config';
import { startDemoCarrier } from './demo-carrier.server';

export interface ShippingEstimate {
  readonly carrier: string;
  readonly service: string;
  readonly days: number;
}

export type EstimateOutcome =
  | { readonly ok: true; readonly estimate: ShippingEstimate }
  | { readonly ok: false; readonly reason: 'unavailable' | 'circuit-open' | 'not-configured' };

const BREAK_AFTER_FAILURES = 5;
const HALF_OPEN_AFTER_MS = 10_000;

function parseEstimate(body: unknown): ShippingEstimate {
  const value = body as Partial<ShippingEstimate> | null;
  if (
    typeof value?.carrier !== 'string' ||
    typeof value.service !== 'string' ||
    typeof value.days !== 'number' ||
    !Number.isInteger(value.days) ||
    value.days < 0 ||
    value.days > 60
  ) {
    throw new Error('carrier answered with an unexpected body');
  }
  return { carrier: value.carrier, service: value.service, days: value.days };
}

/**
 * The carrier's estimate API behind a per-call timeout, retries with exponential backoff (estimates are
 * idempotent reads) and a circuit breaker: after repeated failures callers get an answer at once instead of
 * waiting on a dead API, until a trial call succeeds again.
 */
@Injectable()
export class CarrierClient implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(CarrierClient.name);
  private readonly policy: IPolicy;
  private baseUrl?: string;
  private demo?: { close(): Promise<void> };

  constructor(private readonly config: AppConfig) {
    const { timeoutMs, retries } = config.carrier;
    const breaker = circuitBreaker(handleAll, {
      halfOpenAfter: HALF_OPEN_AFTER_MS,
      breaker: new ConsecutiveBreaker(BREAK_AFTER_FAILURES),
    });
    breaker.onBreak(() => this.logger.warn('Carrier API circuit opened: answering without calling it'));
    breaker.onReset(() => this.logger.log('Carrier API circuit closed again'));
    const retryPolicy = retry(handleAll, {
      maxAttempts: retries,
      backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }),
    });
    this.policy = wrap(breaker, retryPolicy, timeout(timeoutMs, TimeoutStrategy.Aggressive));
  }

  async onModuleInit(): Promise<void> {
    this.baseUrl = this.config.carrier.url;
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

  async estimate(from: string, to: string, weightGrams: number, signal?: AbortSignal): Promise<EstimateOutcome> {
    const baseUrl = this.baseUrl;
    if (!baseUrl) return { ok: false, reason: 'not-configured' };
    const url = new URL('/v1/estimates', baseUrl);
    url.search = new URLSearchParams({ from, to, weight: String(weightGrams) }).toString();
    try {
      const estimate = await this.policy.execute(async ({ signal: attemptSignal }) => {
        const response = await fetch(url, {
          signal: signal ? AbortSignal.any([signal, attemptSignal]) : attemptSignal,
          headers: { accept: 'application/json' },
        });
        if (!response.ok) throw new Error(`carrier answered HTTP ${response.status}`);
        return parseEstimate(await response.json());
      });
      return { ok: true, estimate };
    } catch (error: unknown) {
      if (error instanceof BrokenCircuitError) return { ok: false, reason: 'circuit-open' };
      this.logger.warn(`Carrier estimate failed: ${error instanceof Error ? error.message : String(error)}`);
      return { ok: false, reason: 'unavailable' };
    }
  }
}
