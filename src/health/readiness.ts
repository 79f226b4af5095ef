import { Injectable } from '@nestjs/common';
import { DatabaseAvailability } from '../database/database-availability';

/**
 * The service's own view of whether it should get traffic: false from the moment SIGTERM arrives, so the
 * load balancer stops sending before connections are refused; `closingConnections` then makes every
 * response end its keep-alive connection.
 */
@Injectable()
export class Readiness {
  private drainingSince?: number;
  private closing = false;

  constructor(private readonly database: DatabaseAvailability) {}

  /** Traffic is welcome: not shutting down, and PostgreSQL reachable as last seen (gRPC health's SERVING). */
  get serving(): boolean {
    return !this.draining && this.database.isAvailable;
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  get closingConnections(): boolean {
    return this.closing;
  }

  startDraining(): void {
    this.drainingSince ??= Date.now();
  }

  closeConnections(): void {
    this.startDraining();
    this.closing = true;
  }
}
