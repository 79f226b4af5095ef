import { DynamicModule, Module, ModuleMetadata } from '@nestjs/common';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import type { CallerRegistry } from './auth/callers/caller-registry';
import { AsyncModule } from './async/async.module';
import { AppConfig, ConfigModule } from './config';
import { DatabaseModule } from './database/database.module';
import { FulfillmentModule } from './fulfillment';
import { GrpcModule } from './grpc/grpc.module';
import { HealthModule } from './health/health.module';
import { IdempotencyModule } from './idempotency/idempotency.module';
import { IntentsModule } from './intents/intents.module';
import { ObservabilityModule } from './observability/observability.module';
import { OutboundModule } from './outbound';
import { PlatformsModule } from './platforms/platforms.module';
import { ThrottlingModule } from './throttling/throttling.module';

@Module({})
export class AppModule {
  /** `extra` lets tests and embedders add modules (e.g. their own intent handlers). */
  static forRoot(config: AppConfig, callers: CallerRegistry, extra: ModuleMetadata['imports'] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule,
        DatabaseModule,
        FulfillmentModule.forRoot(config.fulfillment),
        OutboundModule,
        IdempotencyModule,
        AsyncModule,
        HealthModule,
        AuditModule,
        AuthModule.forRoot(config, callers),
        ThrottlingModule,
        PlatformsModule,
        GrpcModule,
        IntentsModule,
        ...extra,
      ],
    };
  }
}
