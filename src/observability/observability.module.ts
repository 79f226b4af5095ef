import {
  Global,
  Logger,
  MiddlewareConsumer,
  Module,
  NestModule,
  OnApplicationShutdown,
  RequestMethod,
} from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import { AppConfig } from '../config';
import { EventLoopLoad } from './event-loop-load';
import { requestLogging, rootLogger } from './logging';
import { Metrics } from './metrics';

const FLUSH_TIMEOUT_MS = 2_000;

/**
 * Metrics (their own port), request logging (request id and caller on every line, one access line per
 * request) and, at shutdown, the export of the spans still buffered. Tracing itself starts before Nest (in
 * tracing.ts) and Nest's logger is pino's from the start (app.factory.ts, main.ts).
 */
@Global()
@Module({ providers: [Metrics, EventLoopLoad], exports: [Metrics, EventLoopLoad] })
export class ObservabilityModule implements NestModule, OnApplicationShutdown {
  private readonly logger = new Logger('Tracing');

  constructor(private readonly config: AppConfig) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(requestLogging(rootLogger(this.config.logLevel)))
      .forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }

  /** Spans of the last requests would be lost with the process (the exporter batches them). */
  async onApplicationShutdown(): Promise<void> {
    const provider = trace.getTracerProvider() as { getDelegate?: () => { forceFlush?: () => Promise<void> } };
    const flush = provider.getDelegate?.().forceFlush?.();
    if (!flush) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), FLUSH_TIMEOUT_MS);
    });
    try {
      if ((await Promise.race([flush, timeout])) === 'timeout')
        this.logger.warn('Spans not exported in time at shutdown');
    } catch (error: unknown) {
      this.logger.warn(`Could not export the last spans: ${String(error)}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
