import { Injectable, OnModuleDestroy } from '@nestjs/common';
import {
  BehaviorSubject,
  concat,
  distinctUntilChanged,
  filter,
  map,
  NEVER,
  Observable,
  of,
  shareReplay,
  takeUntil,
  timer,
} from 'rxjs';
import { AppError } from '../common/errors/app-error';
import { Readiness } from '../health/readiness';
import { FULFILLMENT_SERVICE } from './grpc-proto';

export type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/**
 * How often Watch looks at readiness (in-memory flags, the heap, a certificate look kept 10 s, PostgreSQL as last
 * checked, checked again every second with DEGRADED_MODE=503).
 */
const WATCH_INTERVAL_MS = 250;

/** `""` is the server as a whole (what Kubernetes gRPC probes ask); the other names are our services. */
const SERVICES = new Set(['', FULFILLMENT_SERVICE]);

/**
 * `grpc.health.v1.Health` answers: SERVING while the service takes traffic, NOT_SERVING while any rule of HTTP
 * /health/ready fails (`Readiness`: draining, PostgreSQL, the job queue, the heap, the certificate).
 */
@Injectable()
export class GrpcHealth implements OnModuleDestroy {
  private readonly ended = new BehaviorSubject(false);
  /**
   * One look every WATCH_INTERVAL_MS for all Watch streams, while any is open: a stream costs nothing between
   * changes, however many a client opens.
   */
  private readonly status: Observable<ServingStatus> = timer(0, WATCH_INTERVAL_MS).pipe(
    map(() => statusOf(this.readiness.servingAsLastSeen())),
    distinctUntilChanged(),
    shareReplay({ bufferSize: 1, refCount: true }),
  );

  constructor(private readonly readiness: Readiness) {}

  /**
   * The status of a known service, by the rules of HTTP /health/ready (PostgreSQL checked now with
   * DEGRADED_MODE=503); NOT_FOUND for another name, as the protocol asks.
   */
  async check(service: string): Promise<ServingStatus> {
    if (!SERVICES.has(service)) throw new AppError('NOT_FOUND', `Unknown service "${service}".`);
    return statusOf(await this.readiness.checkServing());
  }

  /** The status at once, then each change, until the client cancels or the server shuts down. */
  watch(service: string): Observable<ServingStatus> {
    const statuses = SERVICES.has(service) ? this.status : concat(of<ServingStatus>('SERVICE_UNKNOWN'), NEVER);
    return statuses.pipe(takeUntil(this.ended.pipe(filter(Boolean))));
  }

  /** Ends every Watch (and any started later), so a graceful gRPC shutdown does not wait for endless streams. */
  endWatches(): void {
    this.ended.next(true);
  }

  onModuleDestroy(): void {
    this.endWatches();
  }
}

function statusOf(serving: boolean): ServingStatus {
  return serving ? 'SERVING' : 'NOT_SERVING';
}
