import { Injectable, Logger, OnApplicationShutdown, Optional } from '@nestjs/common';
import { type EventLoopUtilization, type IntervalHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { AppConfig } from '../config';
import { Metrics } from './metrics';

const SAMPLE_RESOLUTION_MS = 10;
const WINDOW_MS = 100;
const LOG_INTERVAL_MS = 10_000;
/** Busy this share of a window, the loop has no spare time: work it cannot start waits (in the kernel). */
export const SATURATED_UTILIZATION = 0.95;

/**
 * How late the loop ran in a window (ms, 90th percentile) from the histogram of `monitorEventLoopDelay`, which
 * records the whole time between two of its timer's runs: an idle loop reads as one resolution late.
 */
export function lateness(histogram: Pick<IntervalHistogram, 'count' | 'percentile'>): number {
  if (histogram.count === 0) return 0;
  return Math.max(0, histogram.percentile(90) / 1e6 - SAMPLE_RESOLUTION_MS);
}

export interface LoadSample {
  /**
   * How late the loop has kept running (ms): the lesser of the last two windows' 90th-percentile delays. One pause
   * (a long collection, a CPU throttled for a moment) puts one late window behind requests that are then answered at
   * once; work arriving faster than it is done keeps the loop late window after window.
   */
  readonly delayMs: number;
  /** The share of the last window the loop was busy (0–1). */
  readonly utilization: number;
  /** Requests and gRPC calls read and not yet answered. */
  readonly inFlight: number;
}

export interface OverloadLimits {
  /** OVERLOAD_DELAY_MS; 0 off. */
  readonly delayMs: number;
  /** OVERLOAD_IN_FLIGHT; 0 off. */
  readonly inFlight: number;
}

/**
 * Whether a replica should refuse new turns now. Two signs of work waiting unseen: the event loop running
 * late (work piles up inside the process), or a loop with no spare time while more requests are in hand than
 * it keeps up with (under an open-loop flood the loop's turns stay short and the queue builds in the kernel's
 * socket buffers, where the delay does not show it). A saturated loop with few requests in hand is a closed
 * loop at full speed, not an overload: it answers everything in time.
 */
export function overloaded(sample: LoadSample, limits: OverloadLimits): boolean {
  if (limits.delayMs > 0 && sample.delayMs > limits.delayMs) return true;
  return limits.inFlight > 0 && sample.utilization >= SATURATED_UTILIZATION && sample.inFlight > limits.inFlight;
}

/**
 * The replica's load, over the last tenth of a second, and the decision to refuse new turns (503 OVERLOADED,
 * Retry-After) so that the turns it accepted still answer within their platform's deadline, instead of every
 * turn answering late.
 */
@Injectable()
export class EventLoopLoad implements OnApplicationShutdown {
  private readonly logger = new Logger('Overload');
  private readonly histogram: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  private readonly limits: OverloadLimits;
  private recentDelayMs = 0;
  private previousDelayMs = 0;
  private recentUtilization = 0;
  private lastUtilization: EventLoopUtilization = performance.eventLoopUtilization();
  private inFlight = 0;
  private refusedSinceLog = 0;
  private lastLog = 0;
  private readonly countRefusal?: () => void;

  constructor(config: AppConfig, @Optional() metrics?: Metrics) {
    this.limits = { delayMs: config.http.overloadDelayMs, inFlight: config.http.overloadInFlight };
    this.histogram = monitorEventLoopDelay({ resolution: SAMPLE_RESOLUTION_MS });
    this.histogram.enable();
    this.timer = setInterval(() => this.sample(), WINDOW_MS);
    this.timer.unref();
    metrics?.gauge('event_loop_delay_seconds', 'Event loop delay over the last 100 ms (90th percentile)', (observe) =>
      observe(this.recentDelayMs / 1000),
    );
    metrics?.gauge('event_loop_utilization_ratio', 'Share of the last 100 ms the event loop was busy', (observe) =>
      observe(this.recentUtilization),
    );
    // The name predates gRPC calls being counted; kept, as dashboards and alerts read it.
    metrics?.gauge('http_requests_in_flight', 'HTTP requests and gRPC calls read and not yet answered', (observe) =>
      observe(this.inFlight),
    );
    const refusals = metrics?.counter('overload_refusals_total', 'Turns refused (503 OVERLOADED) by a busy replica');
    this.countRefusal = refusals && (() => refusals());
  }

  /** The loop's delay in the last window (90th percentile, milliseconds): how late a request just read was read. */
  get delayMs(): number {
    return this.recentDelayMs;
  }

  /**
   * A request (or gRPC call) was let in; `finished` when its response has ended (or its connection closed), or the
   * call's status went out (or it was cancelled).
   */
  started(): void {
    this.inFlight += 1;
  }

  finished(): void {
    this.inFlight -= 1;
  }

  /** Requests and gRPC calls let in and not yet answered: what OVERLOAD_IN_FLIGHT is compared with. */
  get requestsInFlight(): number {
    return this.inFlight;
  }

  /** True while new turns should be refused; counts and (now and then) logs each refusal it causes. */
  refuseNow(): boolean {
    const sustainedDelayMs = Math.min(this.recentDelayMs, this.previousDelayMs);
    const sample = { delayMs: sustainedDelayMs, utilization: this.recentUtilization, inFlight: this.inFlight };
    if (!overloaded(sample, this.limits)) return false;
    this.countRefusal?.();
    this.refusedSinceLog += 1;
    const now = Date.now();
    if (now - this.lastLog >= LOG_INTERVAL_MS) {
      this.logger.warn(
        `Overloaded (event loop ${Math.round(sample.delayMs)} ms behind, ${Math.round(sample.utilization * 100)} % ` +
          `busy, ${sample.inFlight} requests in hand): refused ${this.refusedSinceLog} turn(s) with 503 since the last report`,
      );
      this.lastLog = now;
      this.refusedSinceLog = 0;
    }
    return true;
  }

  /**
   * Forgets what the loop did so far: called when the server starts listening, so that start-up's synchronous
   * work (module loading, compiling) does not read as load and refuse the first requests with 503.
   */
  restartWindow(): void {
    this.histogram.reset();
    this.recentDelayMs = 0;
    this.previousDelayMs = 0;
    this.recentUtilization = 0;
    this.lastUtilization = performance.eventLoopUtilization();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  private sample(): void {
    this.previousDelayMs = this.recentDelayMs;
    this.recentDelayMs = lateness(this.histogram);
    this.histogram.reset();
    const now = performance.eventLoopUtilization();
    this.recentUtilization = performance.eventLoopUtilization(now, this.lastUtilization).utilization;
    this.lastUtilization = now;
  }
}
