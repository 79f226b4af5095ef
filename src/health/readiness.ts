import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config';
import { DatabaseAvailability } from '../database/database-availability';

/**
 * The service's own view of whether it should get traffic: false from the moment SIGTERM arrives, so the
 * load balancer stops sending before connections are refused; from then on every response also ends its
 * keep-alive connection (`Connection: close`), so even a client that ignores readiness moves on cleanly.
 */
@Injectable()
export class Readiness {
  private drainingSince?: number;

  constructor(
    private readonly database: DatabaseAvailability,
    private readonly config: AppConfig,
  ) {}

  /**
   * Traffic is welcome (gRPC health's SERVING): not shutting down, and PostgreSQL reachable as last seen or
   * turns answered without it (`answersWithoutDatabase`).
   */
  get serving(): boolean {
    return !this.draining && (this.database.isAvailable || this.answersWithoutDatabase);
  }

  /** DEGRADED_MODE=reply: without PostgreSQL each turn still gets the platform-shaped "temporarily unavailable". */
  get answersWithoutDatabase(): boolean {
    return this.config.degraded.mode === 'reply';
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  startDraining(): void {
    this.drainingSince ??= Date.now();
  }
}
