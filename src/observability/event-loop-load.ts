import { Injectable, Logger, OnApplicationShutdown, Optional } from '@nestjs/common';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { AppConfig } from '../config';
import { Metrics } from './metrics';

const SAMPLE_RESOLUTION_MS = 10;
const WINDOW_MS = 250;
const LOG_INTERVAL_MS = 10_000;

/**
 * How far behind the event loop runs, over the last quarter second: about the time a request that has just
 * come in already waited, unseen, before the service could read it. Above OVERLOAD_DELAY_MS the replica is
 * overloaded: new turns are refused at once (503 OVERLOADED, Retry-After) so that the turns it accepted
 * still answer within their platform's deadline, instead of every turn answering late.
 */
@Injectable()
export class EventLoopLoad implements OnApplicationShutdown {
  private readonly logger = new Logger('Overload');
  private readonly histogram: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  private readonly limitMs: number;
  private recentDelayMs = 0;
  private refusedSinceLog = 0;
  private lastLog = 0;
  private readonly countRefusal?: () => void;

  constructor(config: AppConfig, @Optional() metrics?: Metrics) {
    this.limitMs = config.http.overloadDelayMs;
    this.histogram = monitorEventLoopDelay({ resolution: SAMPLE_RESOLUTION_MS });
    this.histogram.enable();
    this.timer = setInterval(() => this.sample(), WINDOW_MS);
    this.timer.unref();
    metrics?.gauge('event_loop_delay_seconds', 'Event loop delay over the last 250 ms (90th percentile)', (observe) =>
      observe(this.recentDelayMs / 1000),
    );
    const refusals = metrics?.counter('overload_refusals_total', 'Turns refused (503 OVERLOADED) by a busy replica');
    this.countRefusal = refusals && (() => refusals());
  }

  /** The loop's delay in the last window (90th percentile, milliseconds). */
  get delayMs(): number {
    return this.recentDelayMs;
  }

  /** True while new turns should be refused; counts and (now and then) logs each refusal it causes. */
  refuseNow(): boolean {
    if (this.limitMs === 0 || this.recentDelayMs <= this.limitMs) return false;
    this.countRefusal?.();
    this.refusedSinceLog += 1;
    const now = Date.now();
    if (now - this.lastLog >= LOG_INTERVAL_MS) {
      this.logger.warn(
        `Overloaded (event loop ${Math.round(this.recentDelayMs)} ms behind, limit ${this.limitMs} ms): ` +
          `refused ${this.refusedSinceLog} turn(s) with 503 since the last report`,
      );
      this.lastLog = now;
      this.refusedSinceLog = 0;
    }
    return true;
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  private sample(): void {
    // The histogram holds the delays beyond the sampling resolution, in nanoseconds.
    this.recentDelayMs = this.histogram.count > 0 ? this.histogram.percentile(90) / 1e6 : 0;
    this.histogram.reset();
  }
}
