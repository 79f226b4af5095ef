import { Injectable } from '@nestjs/common';

/**
 * The service's own view of whether it should get traffic: false from the moment SIGTERM arrives, so the
 * load balancer stops sending before connections are refused; `closingConnections` then makes every
 * response end its keep-alive connection.
 */
@Injectable()
export class Readiness {
  private drainingSince?: number;
  private closing = false;

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
