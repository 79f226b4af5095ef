import { Global, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import { EventLoopLoad } from './event-loop-load';
import { Metrics } from './metrics';
import { RuntimeMetrics } from './runtime-metrics';
import { ServedCertificate } from './served-certificate';
import { TurnJournal } from './turn-journal';

const FLUSH_TIMEOUT_MS = 2_000;

/**
 * Metrics (their own port) and, at shutdown, the export of the spans still buffered. Tracing itself starts
 * before Nest (in tracing.ts), Nest's logger is pino's from the start, and request logging is one of the
 * HTTP application's middleware (app.factory.ts, main.ts).
 */
@Global()
@Module({
  providers: [Metrics, EventLoopLoad, RuntimeMetrics, TurnJournal, ServedCertificate],
  exports: [Metrics, EventLoopLoad, TurnJournal, ServedCertificate],
})
export class ObservabilityModule implements OnApplicationShutdown {
  private readonly logger = new Logger('Tracing');

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
