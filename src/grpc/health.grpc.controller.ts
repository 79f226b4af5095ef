import { Controller, UseFilters } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { ApiExcludeController } from '@nestjs/swagger';
import { map, Observable } from 'rxjs';
import { GrpcErrorFilter } from './grpc-error.filter';
import { GrpcHealth } from './grpc-health';
import { refuseUndecodable } from './request-decoding';

interface HealthCheckRequest {
  service?: string;
}

interface HealthCheckResponse {
  status: string;
}

/**
 * `grpc.health.v1.Health`, unauthenticated like HTTP /health (with TLS_CLIENT_AUTH=require the handshake
 * still needs a client certificate), for load balancers, `grpc-health-probe` and Kubernetes gRPC probes.
 */
@ApiExcludeController()
@Controller()
@UseFilters(GrpcErrorFilter)
export class HealthGrpcController {
  constructor(private readonly health: GrpcHealth) {}

  @GrpcMethod('Health', 'Check')
  async check(request: HealthCheckRequest): Promise<HealthCheckResponse> {
    refuseUndecodable(request);
    return { status: await this.health.check(request.service ?? '') };
  }

  @GrpcMethod('Health', 'Watch')
  watch(request: HealthCheckRequest): Observable<HealthCheckResponse> {
    refuseUndecodable(request);
    return this.health.watch(request.service ?? '').pipe(map((status) => ({ status })));
  }
}
