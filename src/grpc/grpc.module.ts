import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { HealthModule } from '../health/health.module';
import { PlatformsModule } from '../platforms/platforms.module';
import { ThrottlingModule } from '../throttling/throttling.module';
import { FulfillmentGrpcController } from './fulfillment.grpc.controller';
import { FulfillmentGrpcService } from './fulfillment.grpc.service';
import { GrpcCallerAuthGuard } from './grpc-caller-auth.guard';
import { GrpcCallerThrottlerGuard } from './grpc-caller-throttler.guard';
import { GrpcConnections } from './grpc-connections';
import { GrpcEndpoint } from './grpc-endpoint';
import { GrpcErrorFilter } from './grpc-error.filter';
import { GrpcHealth } from './grpc-health';
import { HealthGrpcController } from './health.grpc.controller';
import { UnauthenticatedCalls } from './unauthenticated-calls';

const controllers = [FulfillmentGrpcController, HealthGrpcController];
const services = [FulfillmentGrpcService, GrpcHealth];
const transport = [GrpcConnections, GrpcEndpoint, UnauthenticatedCalls];
const enhancers = [GrpcCallerAuthGuard, GrpcCallerThrottlerGuard, GrpcErrorFilter];

/**
 * The gRPC entry points. Served only once `connectGrpc` starts the transport (GRPC_ENABLED); the module is
 * always present so the controllers are registered either way.
 */
@Module({
  imports: [PlatformsModule, AuthModule, ThrottlingModule, HealthModule],
  controllers,
  providers: [...services, ...transport, ...enhancers],
  exports: [GrpcEndpoint],
})
export class GrpcModule {}
